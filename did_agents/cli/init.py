"""``did-agents init`` (create the organization identity) and ``did-agents org`` (its keys).

``init`` is the only command that creates an organization key: it refuses to
run over an existing key store or an initialized database (DESIGN §9).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from did_agents.cli._issuer import fail, issuer_settings
from did_agents.clock import SystemClock
from did_agents.errors import DIDAgentsError
from did_agents.keys import KeyType
from did_agents.keystore import KeyStore, Passphrase, RawKey
from did_agents.storage.database import Database
from did_agents.storage.operators import OperatorRepository

__all__ = ["app", "org_app"]

app = typer.Typer(help="Create the organization's did:web identity, key store and database.")
org_app = typer.Typer(help="The organization's signing keys (rotation, removal).", no_args_is_help=True)

BaseURL = Annotated[str | None, typer.Option("--base-url", help="Public origin, e.g. https://issuer.example")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Where the SQLite database and key store live")
]


@app.callback(invoke_without_command=True)
def init(
    base_url: BaseURL = None,
    data_dir: DataDir = None,
    key_type: Annotated[str, typer.Option("--key-type", help="Ed25519 or P-256")] = "Ed25519",
    admin: Annotated[str | None, typer.Option("--admin", help="Also create this admin operator")] = None,
) -> None:
    """Create the key store, migrate the database and create the organization DID."""
    from did_agents.exchange.access_token import KEY_PURPOSE
    from did_agents.issuance.organization import init_organization
    from issuer.app import keystore_secret
    from verifier.settings import VerifierSettings

    settings = issuer_settings(base_url, data_dir)
    generated: RawKey | None = None
    try:
        try:
            secret: Passphrase | RawKey = keystore_secret(settings)
        except DIDAgentsError:
            generated = RawKey.generate()
            secret = generated
        keystore = KeyStore.create(settings.resolved_keystore_path, secret)
        database = Database.connect(settings.resolved_database_url, upgrade=True)
        organization = init_organization(
            database,
            keystore,
            settings.base_url,
            clock=SystemClock(),
            key_type=KeyType.parse(key_type),
            # DID_AGENTS_TOKEN_ALGORITHM: the verifier's first access-token key is made here too.
            token_algorithm=VerifierSettings(base_url=settings.base_url).token_algorithm,
        )
        token = None
        if admin:
            with database.transaction() as conn:
                _, token = OperatorRepository(conn).create(admin, "admin", now=SystemClock().now())
    except DIDAgentsError as exc:
        raise fail(exc) from exc
    typer.echo(f"organization DID: {organization.did}")
    typer.echo(f"signing key:      {organization.signing_kid}")
    for entry in keystore.list():
        if entry.purpose == KEY_PURPOSE:
            typer.echo(f"access-token key: {entry.kid}")
    typer.echo(f"key store:        {settings.resolved_keystore_path}")
    if generated is not None:
        typer.secho(
            "key store key (shown once; set it as DID_AGENTS_KEYSTORE_KEY):\n  " + generated.to_base64url(),
            fg=typer.colors.YELLOW,
        )
    if token is not None:
        typer.secho(f"admin token for {admin} (shown once):\n  {token}", fg=typer.colors.YELLOW)


def _open(base_url: str | None, data_dir: Path | None) -> tuple[Database, KeyStore, str]:
    from issuer.app import open_keystore

    settings = issuer_settings(base_url, data_dir)
    return Database.connect(settings.resolved_database_url), open_keystore(settings), settings.base_url


@org_app.command("rotate-key")
def rotate_key(base_url: BaseURL = None, data_dir: DataDir = None) -> None:
    """Add a new signing key; the old one stays published for verification. Restart the service after."""
    from did_agents.issuance.organization import load_organization, rotate_signing_key

    try:
        database, keystore, url = _open(base_url, data_dir)
        organization = rotate_signing_key(
            database, keystore, load_organization(database, keystore, url), clock=SystemClock()
        )
    except DIDAgentsError as exc:
        raise fail(exc) from exc
    typer.echo(f"new signing key: {organization.signing_kid}")


@org_app.command("remove-key")
def remove_key(kid: str, base_url: BaseURL = None, data_dir: DataDir = None) -> None:
    """Unpublish a retired key (credentials it signed stop verifying)."""
    from did_agents.issuance.organization import load_organization, remove_signing_key

    try:
        database, keystore, url = _open(base_url, data_dir)
        remove_signing_key(database, keystore, load_organization(database, keystore, url), kid)
    except DIDAgentsError as exc:
        raise fail(exc) from exc
    typer.echo(f"removed {kid}")


@org_app.command("keys")
def list_keys(base_url: BaseURL = None, data_dir: DataDir = None) -> None:
    """The published signing keys."""
    from did_agents.issuance.organization import load_organization

    try:
        database, keystore, url = _open(base_url, data_dir)
        organization = load_organization(database, keystore, url)
    except DIDAgentsError as exc:
        raise fail(exc) from exc
    for key in organization.keys:
        typer.echo(f"{key.status:8} {key.kid}")
