"""The did-agents CLI: key, did, vc, vp, demo; exit codes and one-line errors."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from did_agents.cli.main import run

CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential"],
    "credentialSubject": {"id": "did:example:subject", "name": "Alice"},
}


class Outcome:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    def invoke(*argv: str, stdin: str | None = None) -> Outcome:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
        code = run(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


def _one_line_error(outcome: Outcome) -> str:
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    assert len(lines) == 1, outcome.err
    assert lines[0].startswith("did-agents: error: ")
    assert "Traceback" not in outcome.err
    return lines[0]


@pytest.fixture
def key_file(tmp_path: Path, cli: Any) -> Path:
    path = tmp_path / "issuer.jwk"
    assert cli("key", "generate", "--out", str(path)).code == 0
    return path


@pytest.fixture
def credential_file(tmp_path: Path) -> Path:
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(CREDENTIAL))
    return path


# -- key ---------------------------------------------------------------------------------------


def test_key_generate_writes_a_private_jwk_0600_and_prints_the_did(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "k.jwk"
    outcome = cli("key", "generate", "--out", str(path))
    assert outcome.code == 0
    did = outcome.out.strip()
    assert did.startswith("did:key:z6Mk")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    jwk = json.loads(path.read_text())
    assert {"kty", "crv", "x", "d"} <= jwk.keys() and jwk["kid"] == f"{did}#{did.removeprefix('did:key:')}"
    assert cli("key", "did", str(path)).out.strip() == did


def test_key_generate_p256(tmp_path: Path, cli: Any) -> None:
    outcome = cli("key", "generate", "--type", "p256", "--out", str(tmp_path / "p.jwk"))
    assert outcome.code == 0 and outcome.out.startswith("did:key:zDn")


def test_key_generate_refuses_to_overwrite_without_force(key_file: Path, cli: Any) -> None:
    before = key_file.read_text()
    outcome = cli("key", "generate", "--out", str(key_file))
    assert outcome.code == 1
    assert "exists" in _one_line_error(outcome)
    assert key_file.read_text() == before
    forced = cli("key", "generate", "--out", str(key_file), "--force")
    assert forced.code == 0 and key_file.read_text() != before
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_key_generate_unknown_type_is_a_usage_error(tmp_path: Path, cli: Any) -> None:
    outcome = cli("key", "generate", "--type", "rsa", "--out", str(tmp_path / "k"))
    assert outcome.code == 2
    assert "rsa" in _one_line_error(outcome)
    assert not (tmp_path / "k").exists()


def test_missing_option_is_a_usage_error(cli: Any) -> None:
    outcome = cli("key", "generate")
    assert outcome.code == 2
    assert "--out" in _one_line_error(outcome)


def test_unknown_command_is_a_usage_error(cli: Any) -> None:
    assert cli("frobnicate").code == 2


def test_not_a_key_file_is_one_line(tmp_path: Path, cli: Any, credential_file: Path) -> None:
    outcome = cli("vc", "issue", "--key", str(credential_file), str(credential_file))
    assert outcome.code == 1
    assert "not a private key file" in _one_line_error(outcome)


# -- did ---------------------------------------------------------------------------------------


def test_did_resolve_prints_the_document(key_file: Path, cli: Any) -> None:
    did = cli("key", "did", str(key_file)).out.strip()
    outcome = cli("did", "resolve", did)
    assert outcome.code == 0
    document = outcome.json()
    assert document["id"] == did
    assert document["assertionMethod"] == [f"{did}#{did.removeprefix('did:key:')}"]


def test_did_resolve_refusal_is_one_line(cli: Any) -> None:
    outcome = cli("did", "resolve", "did:web:169.254.169.254")
    assert outcome.code == 1
    _one_line_error(outcome)


# -- vc ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022", "jose"])
def test_vc_issue_then_verify(
    suite: str, key_file: Path, credential_file: Path, tmp_path: Path, cli: Any
) -> None:
    did = cli("key", "did", str(key_file)).out.strip()
    issued = cli("vc", "issue", "--key", str(key_file), "--suite", suite, str(credential_file))
    assert issued.code == 0, issued.err
    signed = tmp_path / "signed"
    signed.write_text(issued.out)
    if suite == "jose":
        assert issued.out.count(".") == 2
    else:
        document = issued.json()
        assert document["issuer"] == did  # filled from the key
        assert "validFrom" in document  # filled with now
        assert document["proof"]["cryptosuite"] == suite
    verified = cli("vc", "verify", str(signed))
    assert verified.code == 0, verified.out
    result = verified.json()
    assert result["verified"] is True and result["issuer"] == did and result["problems"] == []


def test_vc_issue_ecdsa_with_a_p256_key(tmp_path: Path, credential_file: Path, cli: Any) -> None:
    key = tmp_path / "p.jwk"
    cli("key", "generate", "--type", "p256", "--out", str(key))
    issued = cli(
        "vc", "issue", "--key", str(key), "--suite", "ecdsa-rdfc-2019", "-", stdin=json.dumps(CREDENTIAL)
    )
    assert issued.code == 0
    assert cli("vc", "verify", "-", stdin=issued.out).code == 0


def test_vc_issue_with_the_wrong_key_type_is_one_line(
    key_file: Path, credential_file: Path, cli: Any
) -> None:
    outcome = cli("vc", "issue", "--key", str(key_file), "--suite", "ecdsa-rdfc-2019", str(credential_file))
    assert outcome.code == 1
    assert "P-256" in _one_line_error(outcome)


def test_vc_issue_unknown_suite_is_a_usage_error(key_file: Path, credential_file: Path, cli: Any) -> None:
    assert cli("vc", "issue", "--key", str(key_file), "--suite", "rsa", str(credential_file)).code == 2


def test_vc_issue_invalid_credential_is_one_line(key_file: Path, tmp_path: Path, cli: Any) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**CREDENTIAL, "validFrom": "yesterday"}))
    outcome = cli("vc", "issue", "--key", str(key_file), str(bad))
    assert outcome.code == 1
    assert "invalid_date" in _one_line_error(outcome)


def test_vc_verify_tampered_credential_exits_1_with_the_reason(
    key_file: Path, credential_file: Path, tmp_path: Path, cli: Any
) -> None:
    issued = cli("vc", "issue", "--key", str(key_file), str(credential_file)).json()
    issued["credentialSubject"]["name"] = "Mallory"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(issued))
    outcome = cli("vc", "verify", str(tampered))
    assert outcome.code == 1
    result = outcome.json()
    assert result["verified"] is False
    assert [p["code"] for p in result["problems"]] == ["bad_signature"]


def test_vc_verify_garbage_is_one_line(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "garbage"
    path.write_text("{not json")
    outcome = cli("vc", "verify", str(path))
    assert outcome.code == 1
    _one_line_error(outcome)
    assert cli("vc", "verify", str(tmp_path / "missing.json")).code == 1


def test_vc_verify_duplicate_members_are_refused(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"type": "VerifiableCredential", "type": "X"}')
    outcome = cli("vc", "verify", str(path))
    assert outcome.code == 1
    assert "duplicate" in _one_line_error(outcome)


# -- vp ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "jose"])
def test_vp_sign_then_verify(
    suite: str, key_file: Path, credential_file: Path, tmp_path: Path, cli: Any
) -> None:
    holder = tmp_path / "holder.jwk"
    cli("key", "generate", "--out", str(holder))
    vc = tmp_path / "vc"
    vc.write_text(cli("vc", "issue", "--key", str(key_file), "--suite", "jose", str(credential_file)).out)
    vc2 = tmp_path / "vc2.json"
    vc2.write_text(cli("vc", "issue", "--key", str(key_file), str(credential_file)).out)
    signed = cli(
        "vp", "sign", "--key", str(holder), "--challenge", "n1", "--domain", "https://v.example",
        "--suite", suite, str(vc), str(vc2),
    )  # fmt: skip
    assert signed.code == 0, signed.err
    vp = tmp_path / "vp"
    vp.write_text(signed.out)
    ok = cli("vp", "verify", "--challenge", "n1", "--domain", "https://v.example", str(vp))
    assert ok.code == 0, ok.out
    assert [c["verified"] for c in ok.json()["credentials"]] == [True, True]
    replay = cli("vp", "verify", "--challenge", "n2", "--domain", "https://v.example", str(vp))
    assert replay.code == 1
    assert [p["code"] for p in replay.json()["problems"]] == ["challenge_mismatch"]


def test_vp_verify_needs_challenge_and_domain(tmp_path: Path, cli: Any) -> None:
    assert cli("vp", "verify", "--domain", "https://v.example", str(tmp_path / "x")).code == 2


# -- demo and the console script ---------------------------------------------------------------


def test_offline_demo_runs_and_every_step_behaves(cli: Any) -> None:
    outcome = cli("demo", "--offline")
    assert outcome.code == 0, outcome.out + outcome.err
    assert "all steps behaved as expected" in outcome.out
    assert "refused (domain_mismatch)" in outcome.out


def test_console_script_exit_codes_and_no_traceback(key_file: Path, credential_file: Path, cli: Any) -> None:
    script = Path(sys.executable).parent / "did-agents"
    tampered = cli("vc", "issue", "--key", str(key_file), str(credential_file)).json()
    tampered["issuer"] = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    bad = subprocess.run(
        [str(script), "vc", "verify", "-"],
        input=json.dumps(tampered),
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["verified"] is False
    usage = subprocess.run(
        [str(script), "vc", "verify", "--bogus"], capture_output=True, text=True, check=False
    )
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr and len(usage.stderr.strip().splitlines()) == 1


def test_default_suite_follows_the_key_type(tmp_path: Path, credential_file: Path, cli: Any) -> None:
    key = tmp_path / "p.jwk"
    cli("key", "generate", "--type", "p256", "--out", str(key))
    issued = cli("vc", "issue", "--key", str(key), str(credential_file))
    assert issued.code == 0 and issued.json()["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
    vc = tmp_path / "vc.json"
    vc.write_text(issued.out)
    signed = cli(
        "vp", "sign", "--key", str(key), "--challenge", "c", "--domain", "https://v.example", str(vc)
    )
    assert signed.code == 0 and signed.json()["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
