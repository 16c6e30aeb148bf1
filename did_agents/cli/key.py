"""``did-agents key``: key files (a private JWK with ``d``, mode 0600)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from did_agents import keys, strict_json
from did_agents.cli.console import CLIError, err, read_text, write_text
from did_agents.did import key as did_key
from did_agents.errors import DIDAgentsError
from did_agents.keys import KeyType, PrivateKey

__all__ = ["KeyFile", "app", "load_key", "save_key", "write_private_file"]

app = typer.Typer(help="Generate and inspect key files.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class KeyFile:
    """A loaded key file: the key, its did:key DID and verification method."""

    key: PrivateKey
    did: str
    verification_method: str


def _key_json(key: PrivateKey) -> dict[str, Any]:
    did = did_key.create(key.public_key)
    # RFC 7517 §4.5 "kid": the did:key verification method this key signs as.
    return {**key.to_jwk(), "kid": did_key.verification_method_id(did)}


def save_key(key: PrivateKey, path: Path, *, force: bool = False) -> None:
    """Write ``key`` as a private JWK, readable by the owner only (0600).

    Refuses to replace an existing file unless ``force``; the file is written
    to a temporary sibling and renamed, so a crash never leaves half a key.
    """
    data = (json.dumps(_key_json(key), indent=2) + "\n").encode("utf-8")
    if not force and path.exists():
        raise CLIError(f"{path} exists; use --force to replace it")
    write_private_file(path, data, replace=force)


def write_private_file(path: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to ``path`` readable by the owner only (0600), atomically (temporary
    sibling, fsync, then rename); without ``replace`` an existing file is never overwritten."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            # link() fails if the name exists (or appeared meanwhile): never overwrite without --force.
            try:
                os.link(tmp, path)
            except FileExistsError as exc:
                raise CLIError(f"{path} exists; use --force to replace it") from exc
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_key(path: str) -> KeyFile:
    """Read a key file written by ``key generate`` (any private Ed25519/P-256 JWK)."""
    text = read_text(path, max_bytes=16_384)
    try:
        jwk = strict_json.loads(text, max_bytes=16_384, max_depth=4)
        key = PrivateKey.from_jwk(jwk)
    except DIDAgentsError as exc:
        raise CLIError(f"{path} is not a private key file: {exc.description}") from exc
    did = did_key.create(key.public_key)
    return KeyFile(key, did, did_key.verification_method_id(did))


@app.command("generate")
def generate(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the private key (JWK, mode 0600).")
    ],
    key_type: Annotated[str, typer.Option("--type", "-t", help="ed25519 or p256.")] = "ed25519",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Generate a key pair, save the private key and print its did:key DID."""
    try:
        kind = KeyType.parse(key_type)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--type") from exc
    key = keys.generate(kind)
    save_key(key, out, force=force)
    did = did_key.create(key.public_key)
    err.print(f"wrote {kind.value} private key to {out} (mode 0600)")
    write_text(did)


@app.command("did")
def show_did(key_file: Annotated[str, typer.Argument(help="A key file written by 'key generate'.")]) -> None:
    """Print the did:key DID of a key file."""
    write_text(load_key(key_file).did)
