"""``did-agents delegate`` and ``did-agents delegation``: sign and revoke DelegationCredentials.

``delegate`` (:func:`command`) signs a DelegationCredential from the key's
``did:key`` to an agent DID (DESIGN §4). With ``--parent`` it sub-delegates:
the new link names its parent by id and digest, only narrows the parent's
capabilities, allows fewer further hops and never outlives it (DESIGN §5
rules 2-4, the rules ``verify_chain`` applies later; refused here first so
nobody hands out a link that cannot verify).

``delegation`` (:data:`delegation_app`) keeps a delegator's own revocation
list (W3C Bitstring Status List) in a local state file:

* ``status-list init`` creates it for a key and the URL the list will be
  served at;
* ``delegate --status-list`` gives each delegation a random free index
  (BSL §2.1, §6.5) and records ``credential id → index``;
* ``revoke`` sets a delegation's bit; ``publish`` prints the signed
  ``BitstringStatusListCredential`` (issuer = the key's DID, ``id`` = the URL),
  which ``verify_chain`` accepts because its issuer is the delegation's issuer.

The state file is JSON, mode 0600, replaced atomically under an exclusive lock
(a sibling ``.lock`` file), so concurrent commands never lose an index or a bit.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

import typer

from did_agents import strict_json
from did_agents.agent.identity import credential_document
from did_agents.agent.user import DelegatingUser
from did_agents.cli.console import (
    EXIT_USAGE,
    CLIError,
    err,
    read_credential_input,
    read_text,
)
from did_agents.cli.key import KeyFile, load_key, write_private_file
from did_agents.cli.vc import SUITES, check_suite, refused, write_secured
from did_agents.clock import Clock, SystemClock
from did_agents.credentials.verify import IssueSuite, default_suite, issue_credential
from did_agents.credentials.vocabulary import MAX_DEPTH_LIMIT, build_delegation_credential
from did_agents.delegation.capabilities import (
    CapabilitySet,
    capabilities_to_json,
    parse_capabilities,
    parse_resource,
    parse_scope,
)
from did_agents.delegation.narrowing import SubDelegation, check_narrowing
from did_agents.did.document import DID_PATTERN, MAX_DID_LENGTH
from did_agents.errors import DIDAgentsError, MalformedError, VerificationError
from did_agents.status.bitstring import StatusList, make_status_entry, random_free_index

__all__ = [
    "MAX_VALID_FOR",
    "StatusListState",
    "command",
    "current_clock",
    "delegation_app",
    "parse_valid_for",
]

#: The longest delegation ``--valid-for`` allows: delegations are short-lived grants.
MAX_VALID_FOR: Final = timedelta(days=30)
_DURATION: Final = re.compile(r"([1-9][0-9]{0,6})([smhd])")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_STATE_VERSION: Final = 1
_STATE_MAX_BYTES: Final = 4 * 1024 * 1024

delegation_app = typer.Typer(
    help="A delegator's own revocation list: status-list init, revoke, publish.", no_args_is_help=True
)
status_list_app = typer.Typer(help="Create a revocation list state file.", no_args_is_help=True)
delegation_app.add_typer(status_list_app, name="status-list")


def current_clock() -> Clock:
    """The clock the commands read (tests replace this function)."""
    return SystemClock()


def _usage(message: str) -> CLIError:
    return CLIError(message, EXIT_USAGE)


# -- arguments -----------------------------------------------------------------------------------


def parse_valid_for(value: str) -> timedelta:
    """``8h``, ``30m``, ``2d``, ``90s``: a positive duration of at most :data:`MAX_VALID_FOR`."""
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration such as 90s, 30m, 8h or 2d")
    duration = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if duration > MAX_VALID_FOR:
        raise ValueError(f"{value!r} is longer than {MAX_VALID_FOR.days}d")
    return duration


def _agent_did(value: str) -> str:
    # DID Core §3.1 syntax; fullmatch, so a trailing newline is not part of a DID.
    if len(value) > MAX_DID_LENGTH or DID_PATTERN.fullmatch(value) is None:
        raise typer.BadParameter(f"{value[:80]!r} is not a DID", param_hint="--to")
    return value


def _capabilities(resource: str, scopes: Sequence[str]) -> CapabilitySet:
    """The requested capability in the algebra's normal form (its parsers are the grammar)."""
    try:
        target = parse_resource(resource)
    except MalformedError as exc:
        raise typer.BadParameter(exc.description, param_hint="--resource") from exc
    if not scopes:
        raise typer.BadParameter("give at least one --scope", param_hint="--scope")
    for scope in scopes:
        try:
            parse_scope(scope)
        except MalformedError as exc:
            raise typer.BadParameter(exc.description, param_hint="--scope") from exc
    try:
        return parse_capabilities([{"resource": target, "scopes": list(scopes)}])
    except MalformedError as exc:
        raise typer.BadParameter(exc.description, param_hint="--scope") from exc


def _https_url(value: str) -> str:
    """A status list URL: HTTPS (verifiers fetch only HTTPS), or HTTP on a loopback host for tests."""
    parts = urlsplit(value)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if (
        value != value.strip()
        or not parts.netloc
        or parts.fragment
        or "#" in value
        or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))
    ):
        raise typer.BadParameter(
            "must be an https:// URL without a fragment (http:// only on localhost)", param_hint="--url"
        )
    return value


# -- the parent of a sub-delegation ----------------------------------------------------------------


def _sub_delegation(
    source: str,
    holder: str,
    agent: str,
    capabilities: CapabilitySet,
    max_depth: int,
    now: datetime,
    valid_until: datetime,
) -> SubDelegation:
    """The parent from ``--parent`` (JSON, compact vc+jwt, or enveloped), checked by
    ``check_narrowing`` (DESIGN §5 rules 2-4): a parent that is not a DelegationCredential
    is a usage error, a link that would not verify is refused with its rule."""
    try:
        document = credential_document(read_credential_input(source))
        return check_narrowing(
            document,
            issuer=holder,
            agent=agent,
            capabilities=capabilities,
            max_depth=max_depth,
            now=now,
            valid_until=valid_until,
        )
    except VerificationError as exc:
        raise CLIError(f"refused ({exc.reason}): {exc.description}") from exc
    except DIDAgentsError as exc:
        raise typer.BadParameter(
            f"not a DelegationCredential: {exc.description}", param_hint="--parent"
        ) from exc


# -- the status list state file --------------------------------------------------------------------


@dataclass
class StatusListState:
    """A delegator's revocation list as kept in the state file."""

    did: str
    url: str
    bits: StatusList
    credentials: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _STATE_VERSION,
            "did": self.did,
            "url": self.url,
            "statusPurpose": "revocation",
            "entries": self.bits.entries,
            "encodedList": self.bits.encode(),
            "credentials": dict(sorted(self.credentials.items())),
        }

    @classmethod
    def from_json(cls, value: object, source: str) -> StatusListState:
        def bad(why: str) -> CLIError:
            return CLIError(f"{source} is not a status list state file: {why}")

        if not isinstance(value, Mapping) or value.get("version") != _STATE_VERSION:
            raise bad(f"expected a JSON object with version {_STATE_VERSION}")
        did, url, credentials = value.get("did"), value.get("url"), value.get("credentials")
        if not isinstance(did, str) or not isinstance(url, str) or not isinstance(credentials, Mapping):
            raise bad("did, url and credentials are required")
        try:
            bits = StatusList.decode(value.get("encodedList"))
        except DIDAgentsError as exc:
            raise bad(exc.description) from exc
        indexes: dict[str, int] = {}
        for credential_id, index in credentials.items():
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < bits.entries:
                raise bad(f"index of {credential_id} is out of range")
            indexes[credential_id] = index
        return cls(did, url, bits, indexes)


def _write_state(state: StatusListState, path: Path, *, exclusive: bool = False) -> None:
    """Write ``state`` readable by the owner only (0600), atomically (temporary sibling + rename).

    ``exclusive`` refuses to replace an existing file (``status-list init`` without ``--force``).
    """
    data = (json.dumps(state.to_json(), indent=2) + "\n").encode("utf-8")
    write_private_file(path, data, replace=not exclusive)


def _read_state(path: Path) -> StatusListState:
    text = read_text(str(path), max_bytes=_STATE_MAX_BYTES)
    try:
        value = strict_json.loads(text, max_bytes=_STATE_MAX_BYTES)
    except DIDAgentsError as exc:
        raise CLIError(f"{path} is not a status list state file: {exc.description}") from exc
    return StatusListState.from_json(value, str(path))


@contextlib.contextmanager
def _locked_state(path: Path) -> Iterator[StatusListState]:
    """Read the state under an exclusive lock held until the block ends (read-modify-write)."""
    if not path.is_file():
        raise CLIError(f"{path} does not exist; create it with 'did-agents delegation status-list init'")
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield _read_state(path)
    finally:
        os.close(fd)  # releases the lock


def _check_owner(state: StatusListState, key: KeyFile, path: Path) -> None:
    if state.did != key.did:
        raise CLIError(f"{path} is the status list of {state.did}, not of this key ({key.did})")


# -- commands --------------------------------------------------------------------------------------


def command(
    key_file: Annotated[str, typer.Option("--key", "-k", help="The delegator's key file.")],
    to: Annotated[str, typer.Option("--to", help="The agent DID receiving the delegation.")],
    resource: Annotated[
        str, typer.Option("--resource", help="The MCP server URL (exact, or a prefix ending in /).")
    ],
    scope: Annotated[
        list[str], typer.Option("--scope", help="A scope such as orders:read or orders:* (repeatable).")
    ],
    max_depth: Annotated[
        int, typer.Option("--max-depth", help="Further hops the agent may sub-delegate (0: none).")
    ] = 0,
    valid_for: Annotated[
        str, typer.Option("--valid-for", help="Lifetime: 90s, 30m, 8h or 2d (at most 30d).")
    ] = "8h",
    suite: Annotated[
        str | None,
        typer.Option("--suite", "-s", help=f"One of: {', '.join(SUITES)} (default: the key's RDFC suite)."),
    ] = None,
    parent_file: Annotated[
        str | None,
        typer.Option(
            "--parent", help="Sub-delegate: the DelegationCredential this key received (JSON or JWT)."
        ),
    ] = None,
    status_list: Annotated[
        Path | None,
        typer.Option("--status-list", help="Add a revocation entry from this status list state file."),
    ] = None,
) -> None:
    """Sign a DelegationCredential to an agent; print it (JSON, or the JWT for --suite jose)."""
    agent = _agent_did(to)
    capabilities = _capabilities(resource, scope)
    if not 0 <= max_depth <= MAX_DEPTH_LIMIT:
        raise typer.BadParameter(f"must be from 0 to {MAX_DEPTH_LIMIT}", param_hint="--max-depth")
    try:
        lifetime = parse_valid_for(valid_for)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--valid-for") from exc
    chosen: IssueSuite | None = check_suite(suite) if suite is not None else None
    key = load_key(key_file)
    if agent == key.did:
        raise CLIError("refused (chain_cycle): --to is this key's own DID")
    clock = current_clock()
    now = clock.now().replace(microsecond=0)
    valid_until = now + lifetime
    parent: SubDelegation | None = None
    if parent_file is not None:
        parent = _sub_delegation(parent_file, key.did, agent, capabilities, max_depth, now, valid_until)
        valid_until = parent.valid_until  # DESIGN §5 rule 4: a child never outlives its parent.

    def sign(status: dict[str, str] | None) -> dict[str, Any] | str:
        unsigned = build_delegation_credential(
            issuer=key.did,
            agent=agent,
            capabilities=capabilities_to_json(capabilities),
            valid_from=now,
            valid_until=valid_until,
            max_depth=max_depth,
            parent=parent.parent if parent is not None else None,
            credential_status=status,
        )
        try:
            return issue_credential(
                unsigned,
                key=key.key,
                verification_method=key.verification_method,
                suite=chosen or default_suite(key.key),
                clock=clock,
            )
        except (DIDAgentsError, ValueError) as exc:
            raise refused("sign", exc) from exc

    if status_list is None:
        secured = sign(None)
    else:
        with _locked_state(status_list) as state:
            _check_owner(state, key, status_list)
            used = set(state.credentials.values())
            # BSL §2.1 / §6.5: a random index does not tell when or how many were issued.
            index = random_free_index(state.bits.entries, used)
            secured = sign(make_status_entry(state.url, index, "revocation"))
            state.credentials[str(credential_document(secured)["id"])] = index
            # Recorded before printing: a delegation that was handed out can always be revoked.
            _write_state(state, status_list)
    write_secured(secured)


@status_list_app.command("init")
def status_list_init(
    key_file: Annotated[str, typer.Option("--key", "-k", help="The delegator's key file.")],
    url: Annotated[str, typer.Option("--url", help="Where the published list will be served (https).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The state file to create (mode 0600).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing state file.")] = False,
) -> None:
    """Create an empty revocation list for the key's DID, to be served at URL."""
    _https_url(url)
    key = load_key(key_file)
    state = StatusListState(key.did, url, StatusList(), {})
    _write_state(state, out, exclusive=not force)
    err.print(f"wrote the revocation list of {key.did} ({state.bits.entries} entries) to {out}")


@delegation_app.command("revoke")
def revoke(
    status_list: Annotated[Path, typer.Option("--status-list", help="The status list state file.")],
    credential_id: Annotated[
        str | None, typer.Argument(help="The delegation's id (urn:uuid:…).", show_default=False)
    ] = None,
    credential_file: Annotated[
        str | None, typer.Option("--credential", help="The delegation itself (JSON or JWT file).")
    ] = None,
) -> None:
    """Revoke a delegation signed with --status-list (idempotent); then run 'delegation publish'."""
    if (credential_id is None) == (credential_file is None):
        raise _usage("give the delegation's id or --credential FILE (exactly one)")
    if credential_file is not None:
        found = credential_document(read_credential_input(credential_file)).get("id")
        if not isinstance(found, str):
            raise CLIError(f"{credential_file} has no credential id")
        credential_id = found
    assert credential_id is not None
    with _locked_state(status_list) as state:
        index = state.credentials.get(credential_id)
        if index is None:
            raise CLIError(f"{credential_id[:120]} is not a delegation recorded in {status_list}")
        if state.bits.is_set(index):
            err.print(f"{credential_id} was already revoked")
            return
        state.bits.set(index, 1)
        _write_state(state, status_list)
    err.print(f"revoked {credential_id}; publish the list for verifiers to see it")


@delegation_app.command("publish")
def publish(
    key_file: Annotated[str, typer.Option("--key", "-k", help="The key the list was created for.")],
    status_list: Annotated[Path, typer.Option("--status-list", help="The status list state file.")],
    suite: Annotated[
        str | None,
        typer.Option("--suite", "-s", help=f"One of: {', '.join(SUITES)} (default: the key's RDFC suite)."),
    ] = None,
) -> None:
    """Print the signed BitstringStatusListCredential to serve at the list's URL."""
    chosen: IssueSuite | None = check_suite(suite) if suite is not None else None
    key = load_key(key_file)
    with _locked_state(status_list) as state:
        _check_owner(state, key, status_list)
    # BSL §3.1 (generate algorithm) through the SDK's signer of a user's list.
    user = DelegatingUser(
        key=key.key, status_url=state.url, clock=current_clock(), suite=chosen, revoked=state.bits
    )
    try:
        secured = user.status_list_credential()
    except (DIDAgentsError, ValueError) as exc:
        raise refused("sign", exc) from exc
    write_secured(secured)
