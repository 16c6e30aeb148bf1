"""``did-agents delegate`` and ``did-agents delegation``: what the CLI signs passes ``verify_chain``.

The Urban Bites world (tests/delegation/urban_bites.py) supplies the
organization's credentials and status lists; the CLI signs the delegations
with key files, at the world's fixed clock.
"""

from __future__ import annotations

import asyncio
import io
import json
import stat
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import did_agents.cli.delegate as delegate_module
from did_agents.cli.key import save_key
from did_agents.cli.main import run
from did_agents.credentials.verify import verify_credential
from did_agents.credentials.vocabulary import credential_digest_sri
from did_agents.errors import VerificationError
from did_agents.status.bitstring import MIN_ENTRIES
from tests.delegation.urban_bites import MCP, Party, UrbanBites

USER_LIST = "https://smith.example/status/1"


class Outcome:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def credential(self) -> dict[str, Any] | str:
        text = self.out.strip()
        return json.loads(text) if text.startswith("{") else text


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> UrbanBites:
    world = UrbanBites()
    # The CLI signs at the world's time, so the organization's credentials are current.
    monkeypatch.setattr(delegate_module, "current_clock", lambda: world.clock)
    return world


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    def invoke(*argv: str | Path, stdin: str | None = None) -> Outcome:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        code = run([str(a) for a in argv])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def keys(world: UrbanBites, tmp_path: Path) -> dict[str, Path]:
    files = {}
    for party in (world.smith, world.ordering, world.payment, world.mallory):
        path = tmp_path / f"{party.name}.jwk"
        save_key(party.key, path)
        files[party.name] = path
    return files


def _one_line_error(outcome: Outcome) -> str:
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("did-agents: error: ")
    assert "Traceback" not in outcome.err
    return lines[0]


def _write(path: Path, secured: dict[str, Any] | str) -> Path:
    path.write_text(secured if isinstance(secured, str) else json.dumps(secured))
    return path


def _delegate(cli: Any, key: Path, to: Party, *extra: str | Path, scopes: tuple[str, ...]) -> Outcome:
    argv: list[str | Path] = ["delegate", "--key", key, "--to", to.did, "--resource", MCP]
    for scope in scopes:
        argv += ["--scope", scope]
    return cli(*argv, *extra)


def _smith_to_ordering(
    cli: Any, world: UrbanBites, keys: dict[str, Path], *extra: str | Path
) -> dict[str, Any] | str:
    outcome = _delegate(cli, keys["smith"], world.ordering, *extra, scopes=("orders:read", "orders:create"))
    assert outcome.code == 0, outcome.err
    return outcome.credential()


# -- delegate ------------------------------------------------------------------------------------


def test_delegation_signed_by_the_cli_verifies_and_passes_verify_chain(
    world: UrbanBites, keys: dict[str, Path], cli: Any
) -> None:
    delegation = _smith_to_ordering(cli, world, keys, "--max-depth", "1")
    assert isinstance(delegation, dict)
    result = asyncio.run(verify_credential(delegation, resolver=world.resolver, clock=world.clock))
    assert result.verified, result.problems
    assert delegation["issuer"] == world.smith.did
    assert delegation["credentialSubject"]["maxDepth"] == 1
    assert delegation["proof"]["cryptosuite"] == "eddsa-rdfc-2022"  # the Ed25519 key's default
    assert delegation["validUntil"] == "2026-12-01T17:00:00Z"  # --valid-for defaults to 8h

    chain = asyncio.run(world.verify([world.ordering_acc(), world.smith_role(), delegation], world.ordering))
    assert chain.user == world.smith.did and chain.agents == (world.ordering.did,)
    assert chain.effective_scopes == {"orders:read", "orders:create"}


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "jose"])
def test_sub_delegation_via_parent_forms_a_valid_two_link_chain(
    suite: str, world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    root = _smith_to_ordering(cli, world, keys, "--max-depth", "1", "--suite", suite)
    parent_file = _write(tmp_path / "root", root)
    outcome = _delegate(
        cli, keys["ordering"], world.payment, "--parent", parent_file, "--valid-for", "30d",
        scopes=("orders:read",),
    )  # fmt: skip
    assert outcome.code == 0, outcome.err
    link = outcome.credential()
    document = world.document(link)
    # The parent is digested the way verify_chain digests it (the JWT payload for a vc+jwt).
    assert document["credentialSubject"]["parentCredential"] == {
        "id": world.document(root)["id"],
        "digestSRI": credential_digest_sri(world.document(root)),
    }
    # A child never outlives its parent: 30d is clamped to the parent's validUntil.
    assert document["validUntil"] == world.document(root)["validUntil"]

    chain = asyncio.run(
        world.verify(
            [world.ordering_acc(), world.payment_acc(), world.smith_role(), root, link], world.payment
        )
    )
    assert chain.agents == (world.ordering.did, world.payment.did)
    assert chain.effective_scopes == {"orders:read"}


def test_escalation_via_parent_is_refused(
    world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    parent_file = _write(tmp_path / "root.json", _smith_to_ordering(cli, world, keys, "--max-depth", "1"))
    outcome = _delegate(
        cli, keys["ordering"], world.payment, "--parent", parent_file, scopes=("orders:read", "orders:delete")
    )
    assert outcome.code == 1 and outcome.out == ""
    assert "chain_escalation" in _one_line_error(outcome)


def test_other_resource_via_parent_is_refused(
    world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    parent_file = _write(tmp_path / "root.json", _smith_to_ordering(cli, world, keys, "--max-depth", "1"))
    outcome = cli(
        "delegate", "--key", keys["ordering"], "--to", world.payment.did, "--parent", parent_file,
        "--resource", "https://mcp.urbanbites.example/mcpx", "--scope", "orders:read",
    )  # fmt: skip
    assert outcome.code == 1 and outcome.out == ""
    assert "chain_escalation" in _one_line_error(outcome)


def test_sub_delegation_under_max_depth_0_is_refused(
    world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    parent_file = _write(tmp_path / "root.json", _smith_to_ordering(cli, world, keys))
    outcome = _delegate(
        cli, keys["ordering"], world.payment, "--parent", parent_file, scopes=("orders:read",)
    )
    assert outcome.code == 1 and outcome.out == ""
    assert "chain_depth" in _one_line_error(outcome)


def test_max_depth_must_be_below_the_parents(
    world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    parent_file = _write(tmp_path / "root.json", _smith_to_ordering(cli, world, keys, "--max-depth", "1"))
    outcome = _delegate(
        cli,
        keys["ordering"],
        world.payment,
        "--parent",
        parent_file,
        "--max-depth",
        "1",
        scopes=("orders:read",),
    )
    assert outcome.code == 1 and outcome.out == ""
    assert "chain_depth" in _one_line_error(outcome)


def test_parent_must_delegate_to_this_key(
    world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    parent_file = _write(tmp_path / "root.json", _smith_to_ordering(cli, world, keys, "--max-depth", "1"))
    outcome = _delegate(cli, keys["mallory"], world.payment, "--parent", parent_file, scopes=("orders:read",))
    assert outcome.code == 1 and outcome.out == ""
    assert "chain_link" in _one_line_error(outcome)


def test_expired_parent_is_refused(
    world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    parent_file = _write(tmp_path / "root.json", _smith_to_ordering(cli, world, keys, "--max-depth", "1"))
    world.clock.advance(timedelta(hours=8))
    outcome = _delegate(
        cli, keys["ordering"], world.payment, "--parent", parent_file, scopes=("orders:read",)
    )
    assert outcome.code == 1 and outcome.out == ""
    assert "chain_validity" in _one_line_error(outcome)


def test_parent_that_is_not_a_delegation_is_a_usage_error(
    world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    parent_file = _write(tmp_path / "acc.json", world.ordering_acc())
    outcome = _delegate(
        cli, keys["ordering"], world.payment, "--parent", parent_file, scopes=("orders:read",)
    )
    assert outcome.code == 2 and outcome.out == ""
    assert "--parent" in _one_line_error(outcome)


def test_delegation_to_the_keys_own_did_is_refused(
    world: UrbanBites, keys: dict[str, Path], cli: Any
) -> None:
    outcome = _delegate(cli, keys["smith"], world.smith, scopes=("orders:read",))
    assert outcome.code == 1 and outcome.out == ""
    assert "chain_cycle" in _one_line_error(outcome)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--to", "did:bad"),
        ("--to", "not a did"),
        ("--resource", "mcp.urbanbites.example/mcp"),
        ("--resource", "https://mcp.urbanbites.example/mcp?tenant=1"),
        ("--resource", "https://mcp.urbanbites.example/a/../mcp"),
        ("--scope", "orders"),
        ("--scope", "*"),
        ("--scope", "orders:*:read"),
        ("--scope", "orders:reаd"),  # Cyrillic а
        ("--valid-for", "8x"),
        ("--valid-for", "8"),
        ("--valid-for", "0h"),
        ("--valid-for", "31d"),
        ("--max-depth", "-1"),
        ("--max-depth", "65"),
        ("--suite", "rsa"),
    ],
)
def test_bad_input_is_a_usage_error_on_one_line(
    option: str, value: str, world: UrbanBites, keys: dict[str, Path], cli: Any
) -> None:
    args = {"--to": world.ordering.did, "--resource": MCP, "--scope": "orders:read", option: value}
    outcome = cli("delegate", "--key", keys["smith"], *[x for kv in args.items() for x in kv])
    assert outcome.code == 2 and outcome.out == ""
    assert option in _one_line_error(outcome)


# -- the delegator's own revocation list ---------------------------------------------------------


@pytest.fixture
def state(keys: dict[str, Path], cli: Any, tmp_path: Path) -> Path:
    path = tmp_path / "smith-status.json"
    outcome = cli(
        "delegation", "status-list", "init", "--key", keys["smith"], "--url", USER_LIST, "--out", path
    )
    assert outcome.code == 0, outcome.err
    return path


def test_status_list_init_writes_a_0600_state_file_and_never_overwrites(
    state: Path, world: UrbanBites, keys: dict[str, Path], cli: Any
) -> None:
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    saved = json.loads(state.read_text())
    assert saved["did"] == world.smith.did and saved["url"] == USER_LIST
    assert saved["entries"] == MIN_ENTRIES and saved["credentials"] == {}
    again = cli(
        "delegation", "status-list", "init", "--key", keys["smith"], "--url", USER_LIST, "--out", state
    )
    assert again.code == 1 and "--force" in _one_line_error(again)


@pytest.mark.parametrize("url", ["ftp://smith.example/status", "https://smith.example/status#1", "status/1"])
def test_status_list_url_must_be_https(url: str, keys: dict[str, Path], cli: Any, tmp_path: Path) -> None:
    outcome = cli(
        "delegation", "status-list", "init", "--key", keys["smith"], "--url", url, "--out", tmp_path / "s"
    )
    assert outcome.code == 2 and "--url" in _one_line_error(outcome)


def test_delegate_with_status_list_adds_a_random_revocation_entry_and_records_it(
    state: Path, world: UrbanBites, keys: dict[str, Path], cli: Any
) -> None:
    first = world.document(_smith_to_ordering(cli, world, keys, "--status-list", state))
    second = world.document(_smith_to_ordering(cli, world, keys, "--status-list", state))
    recorded = json.loads(state.read_text())["credentials"]
    for document in (first, second):
        entry = document["credentialStatus"]
        assert entry["type"] == "BitstringStatusListEntry" and entry["statusPurpose"] == "revocation"
        assert entry["statusListCredential"] == USER_LIST
        assert recorded[document["id"]] == int(entry["statusListIndex"])
    assert recorded[first["id"]] != recorded[second["id"]]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_status_list_of_another_key_is_refused(
    state: Path, world: UrbanBites, keys: dict[str, Path], cli: Any
) -> None:
    outcome = _delegate(cli, keys["mallory"], world.ordering, "--status-list", state, scopes=("orders:read",))
    assert outcome.code == 1 and outcome.out == ""
    _one_line_error(outcome)
    published = cli("delegation", "publish", "--key", keys["mallory"], "--status-list", state)
    assert published.code == 1 and published.out == ""
    _one_line_error(published)


def test_revoke_then_publish_makes_verify_chain_refuse_revoked(
    state: Path, world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    delegation = _smith_to_ordering(cli, world, keys, "--status-list", state)
    published: dict[str, Any] = {}

    async def fetch(url: str) -> dict[str, Any] | str:
        return published["list"] if url == USER_LIST else await world.fetch(url)

    def publish_and_verify() -> Any:
        outcome = cli("delegation", "publish", "--key", keys["smith"], "--status-list", state)
        assert outcome.code == 0, outcome.err
        published["list"] = outcome.credential()
        credentials = [world.ordering_acc(), world.smith_role(), delegation]
        return asyncio.run(world.verify(credentials, world.ordering, status_resolver=fetch))

    assert publish_and_verify().user == world.smith.did  # published, not revoked: the chain holds

    credential_id = world.document(delegation)["id"]
    assert cli("delegation", "revoke", "--status-list", state, credential_id).code == 0
    with pytest.raises(VerificationError) as refused:
        publish_and_verify()
    assert refused.value.reason == "revoked"

    listed = published["list"]
    assert isinstance(listed, dict) and listed["id"] == USER_LIST and listed["issuer"] == world.smith.did


def test_revoke_by_credential_file_is_idempotent(
    state: Path, world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    delegation_file = _write(
        tmp_path / "d.jwt", _smith_to_ordering(cli, world, keys, "--status-list", state, "--suite", "jose")
    )
    first = cli("delegation", "revoke", "--status-list", state, "--credential", delegation_file)
    after_first = state.read_text()
    second = cli("delegation", "revoke", "--status-list", state, "--credential", delegation_file)
    assert first.code == 0 and second.code == 0 and "already revoked" in second.err
    assert state.read_text() == after_first


def test_revoke_unknown_id_is_refused(state: Path, cli: Any) -> None:
    outcome = cli(
        "delegation", "revoke", "--status-list", state, "urn:uuid:00000000-0000-0000-0000-000000000000"
    )
    assert outcome.code == 1 and "not a delegation recorded" in _one_line_error(outcome)


@pytest.mark.parametrize("both", [True, False])
def test_revoke_needs_exactly_one_of_id_or_credential(both: bool, state: Path, cli: Any) -> None:
    extra = ["urn:uuid:x", "--credential", str(state)] if both else []
    outcome = cli("delegation", "revoke", "--status-list", state, *extra)
    assert outcome.code == 2 and "exactly one" in _one_line_error(outcome)


def test_missing_state_file_is_one_line(
    world: UrbanBites, keys: dict[str, Path], cli: Any, tmp_path: Path
) -> None:
    outcome = _delegate(
        cli, keys["smith"], world.ordering, "--status-list", tmp_path / "none.json", scopes=("orders:read",)
    )
    assert outcome.code == 1 and outcome.out == ""
    assert "status-list init" in _one_line_error(outcome)


def test_help_lists_delegate_and_delegation(cli: Any) -> None:
    outcome = cli("--help")
    assert outcome.code == 0
    assert "delegate " in outcome.out and "delegation " in outcome.out


def test_valid_for_units() -> None:
    parse = delegate_module.parse_valid_for
    assert [parse(v) for v in ("90s", "30m", "8h", "30d")] == [
        timedelta(seconds=90),
        timedelta(minutes=30),
        timedelta(hours=8),
        timedelta(days=30),
    ]
