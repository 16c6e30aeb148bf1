"""Bitstring Status List v1.0: credentials, entries, the validate algorithm, allocation.

Section numbers are those of https://www.w3.org/TR/vc-bitstring-status-list/ (BSL).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from did_agents.clock import FixedClock
from did_agents.errors import ConflictError, DIDAgentsError, MalformedError, VerificationError
from did_agents.status.bitstring import (
    MIN_ENTRIES,
    REASONS,
    StatusList,
    StatusResult,
    build_status_list_credential,
    check_status,
    make_status_entry,
    random_free_index,
)

VECTORS = Path(__file__).parents[1] / "vectors" / "bitstring-status-list"
SPEC: dict[str, Any] = json.loads((VECTORS / "spec-examples.json").read_text())
SUITE: dict[str, Any] = json.loads((VECTORS / "test-suite.json").read_text())

URL = "https://issuer.example/status/3"
ISSUER = "did:key:z6MkissuerKey"
T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


def clock(at: datetime = T0) -> FixedClock:
    return FixedClock(at)


def revocation_list(*set_indexes: int, **kw: Any) -> dict[str, Any]:
    sl = StatusList()
    for i in set_indexes:
        sl.set(i)
    kw.setdefault("valid_from", T0 - timedelta(hours=1))
    return build_status_list_credential(URL, ISSUER, kw.pop("purpose", "revocation"), sl, **kw)


def check(entry: Any, credential: Any, **kw: Any) -> StatusResult:
    kw.setdefault("clock", clock())
    kw.setdefault("list_verified", True)
    return check_status(entry, credential, **kw)


def refused(entry: Any, credential: Any, reason: str, error: type[DIDAgentsError], **kw: Any) -> None:
    assert reason in REASONS
    with pytest.raises(error) as info:
        check(entry, credential, **kw)
    assert type(info.value) is error
    assert info.value.reason == reason


# --- BSL §2.2, §3.1: the status list credential we issue --------------------------


class TestBuildStatusListCredential:
    def test_shape_is_vcdm2_bitstring_status_list_credential(self) -> None:
        sl = StatusList()
        sl.set(17)
        cred = build_status_list_credential(
            URL, ISSUER, "revocation", sl, T0, valid_until=T0 + timedelta(days=1), ttl=300_000
        )
        assert cred == {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": URL,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": ISSUER,
            "validFrom": "2026-12-01T09:00:00Z",
            "validUntil": "2026-12-02T09:00:00Z",
            "credentialSubject": {
                "id": URL + "#list",
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": sl.encode(),
                "ttl": 300_000,
            },
        }
        assert "proof" not in cred  # unsigned: the caller secures it (§3.1 step 5)

    def test_optional_members_are_omitted(self) -> None:
        cred = build_status_list_credential(URL, ISSUER, "suspension", StatusList(), T0)
        assert "validUntil" not in cred
        assert "ttl" not in cred["credentialSubject"]
        assert cred["credentialSubject"]["statusPurpose"] == "suspension"

    def test_encoded_list_decodes_to_the_bitstring(self) -> None:
        cred = revocation_list(5, 131_071)
        sl = StatusList.decode(cred["credentialSubject"]["encodedList"])
        assert list(sl.set_indexes()) == [5, 131_071]

    @pytest.mark.parametrize("purpose", ["message", "refresh", "", "Revocation"])
    def test_only_revocation_and_suspension_are_issued(self, purpose: str) -> None:
        with pytest.raises(ValueError):
            build_status_list_credential(URL, ISSUER, purpose, StatusList(), T0)  # type: ignore[arg-type]

    def test_multi_bit_list_is_not_issued(self) -> None:
        with pytest.raises(ValueError):
            build_status_list_credential(URL, ISSUER, "revocation", StatusList(status_size=2), T0)

    @pytest.mark.parametrize("bad_id", ["", "status/3", URL + "#frag"])
    def test_id_must_be_absolute_url_without_fragment(self, bad_id: str) -> None:
        with pytest.raises(ValueError):
            build_status_list_credential(bad_id, ISSUER, "revocation", StatusList(), T0)

    @pytest.mark.parametrize("ttl", [-1, 1.5, True, "300"])
    def test_ttl_must_be_non_negative_integer_milliseconds(self, ttl: Any) -> None:
        with pytest.raises(ValueError):
            build_status_list_credential(URL, ISSUER, "revocation", StatusList(), T0, ttl=ttl)

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError):
            build_status_list_credential(URL, ISSUER, "revocation", StatusList(), datetime(2026, 12, 1))

    def test_valid_until_must_follow_valid_from(self) -> None:
        with pytest.raises(ValueError):
            build_status_list_credential(URL, ISSUER, "revocation", StatusList(), T0, valid_until=T0)


# --- BSL §2.1: the entry we issue -------------------------------------------------


class TestMakeStatusEntry:
    def test_shape_matches_spec_example_1(self) -> None:
        spec = SPEC["entries"]["example-1-revocation"]["entry"]
        entry = make_status_entry(spec["statusListCredential"], 94567, "revocation")
        assert entry == spec

    def test_index_is_a_base_10_string(self) -> None:
        entry = make_status_entry(URL, 0, "suspension")
        assert entry["statusListIndex"] == "0"
        assert entry["id"] == URL + "#0"
        assert entry["id"] != entry["statusListCredential"]  # §2.1 id MUST NOT be the list URL

    @pytest.mark.parametrize("index", [-1, True, 1.0, "5"])
    def test_index_must_be_non_negative_int(self, index: Any) -> None:
        with pytest.raises(ValueError):
            make_status_entry(URL, index, "revocation")

    def test_purpose_must_be_issuable(self) -> None:
        with pytest.raises(ValueError):
            make_status_entry(URL, 1, "message")  # type: ignore[arg-type]

    def test_url_with_fragment_is_refused(self) -> None:
        with pytest.raises(ValueError):
            make_status_entry(URL + "#x", 1, "revocation")


# --- BSL §3.2 Validate Algorithm ---------------------------------------------------


class TestValidateSpecExamples:
    def test_example_1_entry_against_example_3_list_is_valid(self) -> None:
        entry = SPEC["entries"]["example-1-revocation"]["entry"]
        cred = SPEC["statusListCredentials"]["example-3"]["credential"]
        result = check(entry, cred)
        assert result == StatusResult(purpose="revocation", index=94567, set=False)
        assert result.valid

    def test_entry_for_another_list_url_is_refused(self) -> None:
        # Example 1's suspension entry points at .../status/4; Example 3 is .../status/3.
        entry = SPEC["entries"]["example-1-suspension"]["entry"]
        cred = SPEC["statusListCredentials"]["example-3"]["credential"]
        refused(entry, cred, "status_list_mismatch", VerificationError)

    def test_example_2_as_printed_has_too_few_status_messages(self) -> None:
        entry = SPEC["entries"]["example-2-message-as-printed"]["entry"]
        cred = SPEC["statusListCredentials"]["example-3"]["credential"]
        refused(entry, cred, "bad_status_message", MalformedError)


def _suite_list(name: str, *, prefix: str) -> dict[str, Any]:
    cred: dict[str, Any] = copy.deepcopy(SUITE["statusListCredentials"][name]["credential"])
    cred["credentialSubject"]["encodedList"] = prefix + cred["credentialSubject"]["encodedList"]
    return cred


class TestValidateTestSuiteFixtures:
    @pytest.mark.parametrize("case", SUITE["cases"], ids=lambda c: c["name"])
    def test_outcome_with_multibase_prefix(self, case: dict[str, Any]) -> None:
        cred = _suite_list(case["list"], prefix="u")
        outcome = case["outcome"]
        if "error" in outcome:
            error = {"VerificationError": VerificationError, "MalformedError": MalformedError}
            refused(case["entry"], cred, outcome["reason"], error[outcome["error"]])
        else:
            result = check(case["entry"], cred)
            assert (result.purpose, result.index, result.set) == (
                outcome["purpose"],
                outcome["index"],
                outcome["set"],
            )

    @pytest.mark.parametrize(
        "case",
        [c for c in SUITE["cases"] if "reason" not in c["outcome"] or "short" in c["name"]],
        ids=lambda c: c["name"],
    )
    def test_as_published_without_prefix_is_refused(self, case: dict[str, Any]) -> None:
        cred = _suite_list(case["list"], prefix="")
        refused(case["entry"], cred, "bad_multibase_prefix", MalformedError)


class TestValidateOurOwnLists:
    def test_unset_bit_is_valid(self) -> None:
        entry = make_status_entry(URL, 42, "revocation")
        result = check(entry, revocation_list(41, 43))
        assert result == StatusResult(purpose="revocation", index=42, set=False)

    def test_set_bit_is_a_result_not_an_error(self) -> None:
        entry = make_status_entry(URL, 42, "revocation")
        result = check(entry, revocation_list(42))
        assert result.set and not result.valid and result.value == 1

    def test_suspension_list(self) -> None:
        entry = make_status_entry(URL, 0, "suspension")
        assert check(entry, revocation_list(0, purpose="suspension")).set

    def test_first_and_last_index(self) -> None:
        cred = revocation_list(0, MIN_ENTRIES - 1)
        assert check(make_status_entry(URL, 0, "revocation"), cred).set
        assert check(make_status_entry(URL, MIN_ENTRIES - 1, "revocation"), cred).set


class TestVerifiedFlag:
    @pytest.mark.parametrize("flag", [False, 1, "yes", None])
    def test_list_whose_proof_was_not_verified_is_refused(self, flag: Any) -> None:
        # Step 4 is the caller's: it must say list_verified=True explicitly.
        entry = make_status_entry(URL, 1, "revocation")
        refused(entry, revocation_list(), "status_list_unverified", VerificationError, list_verified=flag)


class TestEntryRules:
    def entry(self, **changes: Any) -> dict[str, Any]:
        entry: dict[str, Any] = make_status_entry(URL, 17, "revocation")
        for key, value in changes.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        return entry

    @pytest.mark.parametrize("type_", ["StatusList2021Entry", "BitstringStatusList", ["Other"], 5, None])
    def test_type_must_be_bitstring_status_list_entry(self, type_: Any) -> None:
        refused(self.entry(type=type_), revocation_list(), "bad_status_entry", MalformedError)

    def test_type_as_array_is_accepted(self) -> None:
        assert not check(self.entry(type=["BitstringStatusListEntry"]), revocation_list()).set

    def test_entry_must_be_an_object(self) -> None:
        refused(["not", "an", "object"], revocation_list(), "bad_status_entry", MalformedError)

    @pytest.mark.parametrize("purpose", [None, "", 1, ["revocation"]])
    def test_status_purpose_must_be_a_string(self, purpose: Any) -> None:
        refused(self.entry(statusPurpose=purpose), revocation_list(), "bad_status_entry", MalformedError)

    @pytest.mark.parametrize(
        "index",
        [
            "-1",
            "17a",
            "+17",
            " 17",
            "17 ",
            "017",
            "00",
            "1e3",
            "0x11",
            "",
            "1_7",
            "١٧",
            "17.0",
            17,
            None,
            True,
        ],
        ids=repr,
    )
    def test_status_list_index_must_be_a_base_10_string(self, index: Any) -> None:
        refused(self.entry(statusListIndex=index), revocation_list(), "bad_status_index", MalformedError)

    @pytest.mark.parametrize(
        "index",
        [str(MIN_ENTRIES), str(2**32), str(2**64), "9" * 25, "1" + "0" * 5000],
        ids=lambda s: s[:12],
    )
    def test_index_past_the_end_is_a_range_error(self, index: str) -> None:
        refused(
            self.entry(statusListIndex=index),
            revocation_list(),
            "status_index_out_of_range",
            VerificationError,
        )

    def test_index_checked_against_actual_list_length(self) -> None:
        big = StatusList(2 * MIN_ENTRIES)
        big.set(2 * MIN_ENTRIES - 1)
        cred = build_status_list_credential(URL, ISSUER, "revocation", big, T0)
        assert check(self.entry(statusListIndex=str(2 * MIN_ENTRIES - 1)), cred).set
        refused(
            self.entry(statusListIndex=str(2 * MIN_ENTRIES)),
            cred,
            "status_index_out_of_range",
            VerificationError,
        )

    @pytest.mark.parametrize("url", [None, 5, "not a url"])
    def test_status_list_credential_must_be_a_url(self, url: Any) -> None:
        refused(self.entry(statusListCredential=url), revocation_list(), "bad_status_entry", MalformedError)

    def test_entry_id_must_not_be_the_list_url(self) -> None:
        refused(self.entry(id=URL), revocation_list(), "bad_status_entry", MalformedError)

    @pytest.mark.parametrize("size", [0, -1, "1", 1.0, True])
    def test_status_size_must_be_a_positive_integer(self, size: Any) -> None:
        refused(self.entry(statusSize=size), revocation_list(), "bad_status_size", MalformedError)

    def test_status_size_above_8_is_unsupported(self) -> None:
        refused(self.entry(statusSize=9), revocation_list(), "unsupported_status_size", MalformedError)

    def test_status_size_1_is_the_default(self) -> None:
        assert check(self.entry(statusSize=1), revocation_list(17)).set

    def test_status_size_above_1_requires_status_message(self) -> None:
        refused(self.entry(statusSize=2), revocation_list(), "bad_status_message", MalformedError)

    @pytest.mark.parametrize(
        "messages",
        [
            "not a list",
            [{"status": "0x0", "message": "a"}, {"status": "0x1", "message": "b"}],
            [{"status": f"0x{i}", "message": "m"} for i in range(3)] + [{"status": "0x3"}],
            [{"status": f"{i}", "message": "m"} for i in range(4)],
            [{"status": "0x0", "message": "m"}] * 4,
            [{"status": f"0x{i + 1}", "message": "m"} for i in range(4)],
            [{"status": f"0x{i}", "message": "m"} for i in range(3)] + ["0x3"],
        ],
        ids=["not-list", "too-few", "no-message", "no-0x", "repeated", "out-of-range", "not-object"],
    )
    def test_status_message_rules(self, messages: Any) -> None:
        refused(
            self.entry(statusSize=2, statusMessage=messages),
            revocation_list(),
            "bad_status_message",
            MalformedError,
        )

    def test_status_message_with_one_bit_needs_two_elements(self) -> None:
        refused(
            self.entry(statusMessage=[{"status": "0x0", "message": "ok"}]),
            revocation_list(),
            "bad_status_message",
            MalformedError,
        )


STATUS_MESSAGES = [
    {"status": "0x0", "message": "pending_review"},
    {"status": "0x1", "message": "accepted"},
    {"status": "0x2", "message": "rejected"},
    {"status": "0x3", "message": "undefined"},
]


class TestMultiBitStatus:
    def message_list(self, values: dict[int, int]) -> dict[str, Any]:
        sl = StatusList(MIN_ENTRIES, status_size=2)
        for i, v in values.items():
            sl.set(i, v)
        return {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": URL,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": ISSUER,
            "credentialSubject": {
                "type": "BitstringStatusList",
                "statusPurpose": "message",
                "statusSize": 2,
                "encodedList": sl.encode(),
            },
        }

    def entry(self, index: int) -> dict[str, Any]:
        return {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "message",
            "statusListIndex": str(index),
            "statusSize": 2,
            "statusListCredential": URL,
            "statusMessage": STATUS_MESSAGES,
        }

    def test_message_is_looked_up_by_value(self) -> None:
        # §3.2 step 13: the message of the value in statusMessage.
        cred = self.message_list({492_847 % MIN_ENTRIES: 2, 5: 1})
        result = check(self.entry(492_847 % MIN_ENTRIES), cred)
        assert (result.value, result.message, result.set) == (2, "rejected", True)
        result = check(self.entry(6), cred)
        assert (result.value, result.message, result.valid) == (0, "pending_review", True)

    def test_list_status_size_must_agree_with_entry(self) -> None:
        cred = self.message_list({})
        cred["credentialSubject"]["statusSize"] = 1
        refused(self.entry(1), cred, "bad_status_size", VerificationError)

    def test_length_check_uses_entries_not_bits(self) -> None:
        # a 16 KB bitstring holds only 65,536 two-bit entries (§3.2 step 9)
        cred = self.message_list({})
        cred["credentialSubject"]["encodedList"] = StatusList().encode()
        refused(self.entry(1), cred, "status_list_too_short", VerificationError)


class TestListCredentialRules:
    def entry(self) -> dict[str, str]:
        return make_status_entry(URL, 17, "revocation")

    def test_purpose_mismatch_is_refused(self) -> None:
        # SECURITY SEC-45: entry revocation, list suspension.
        refused(
            self.entry(), revocation_list(purpose="suspension"), "status_purpose_mismatch", VerificationError
        )

    def test_list_with_several_purposes_accepts_each(self) -> None:
        cred = revocation_list(17)
        cred["credentialSubject"]["statusPurpose"] = ["suspension", "revocation"]
        assert check(self.entry(), cred).set

    @pytest.mark.parametrize("purpose", [None, "", [], [""], ["revocation", 5], 5])
    def test_list_purpose_must_be_one_or_more_strings(self, purpose: Any) -> None:
        cred = revocation_list()
        cred["credentialSubject"]["statusPurpose"] = purpose
        refused(self.entry(), cred, "bad_status_list_credential", MalformedError)

    @pytest.mark.parametrize("type_", [["VerifiableCredential"], "VerifiableCredential", None, ["X", 5]])
    def test_list_type_must_include_bitstring_status_list_credential(self, type_: Any) -> None:
        cred = revocation_list()
        cred["type"] = type_
        refused(self.entry(), cred, "bad_status_list_credential", MalformedError)

    @pytest.mark.parametrize("type_", ["StatusList2021", None, ["Other"]])
    def test_subject_type_must_be_bitstring_status_list(self, type_: Any) -> None:
        cred = revocation_list()
        cred["credentialSubject"]["type"] = type_
        refused(self.entry(), cred, "bad_status_list_credential", MalformedError)

    @pytest.mark.parametrize("subject", [None, "x", [], [{}, {}]])
    def test_subject_must_be_one_object(self, subject: Any) -> None:
        cred = revocation_list()
        cred["credentialSubject"] = subject
        refused(self.entry(), cred, "bad_status_list_credential", MalformedError)

    def test_subject_in_one_element_array_is_accepted(self) -> None:
        cred = revocation_list(17)
        cred["credentialSubject"] = [cred["credentialSubject"]]
        assert check(self.entry(), cred).set

    def test_list_must_be_an_object(self) -> None:
        refused(self.entry(), "uH4sI", "bad_status_list_credential", MalformedError)

    def test_missing_encoded_list(self) -> None:
        cred = revocation_list()
        del cred["credentialSubject"]["encodedList"]
        refused(self.entry(), cred, "bad_encoded_list", MalformedError)

    @pytest.mark.parametrize("ttl", [-1, "60000", 1.5])
    def test_ttl_must_be_non_negative_integer(self, ttl: Any) -> None:
        cred = revocation_list()
        cred["credentialSubject"]["ttl"] = ttl
        refused(self.entry(), cred, "bad_status_list_credential", MalformedError)

    def test_list_without_id_is_accepted(self) -> None:
        # §2.2: the id MAY match statusListCredential, so it may also be absent.
        cred = revocation_list(17)
        del cred["id"]
        assert check(self.entry(), cred).set

    def test_list_id_must_match_entry_url(self) -> None:
        cred = revocation_list()
        cred["id"] = "https://issuer.example/status/4"
        refused(self.entry(), cred, "status_list_mismatch", VerificationError)

    def test_expected_issuer_string_and_object_forms(self) -> None:
        cred = revocation_list()
        assert check(self.entry(), cred, expected_issuer=ISSUER).valid
        cred["issuer"] = {"id": ISSUER, "name": "Org"}
        assert check(self.entry(), cred, expected_issuer=ISSUER).valid

    def test_list_from_another_issuer_is_refused(self) -> None:
        # SECURITY SEC-45: a list signed by MALLORY instead of the credential's issuer.
        cred = revocation_list()
        cred["issuer"] = "did:key:z6MkMallory"
        refused(self.entry(), cred, "status_list_issuer_mismatch", VerificationError, expected_issuer=ISSUER)

    def test_too_short_list_is_refused(self) -> None:
        cred = revocation_list()
        cred["credentialSubject"]["encodedList"] = StatusList(8 * 1024, min_entries=8).encode()
        refused(self.entry(), cred, "status_list_too_short", VerificationError)

    def test_zip_bomb_is_refused(self) -> None:
        from tests.status.test_bitstring import gzip_bomb

        cred = revocation_list()
        cred["credentialSubject"]["encodedList"] = gzip_bomb(64 << 20)
        refused(self.entry(), cred, "status_list_too_large", MalformedError)

    def test_lower_ecosystem_minimum_can_be_set_explicitly(self) -> None:
        # §3.2 step 2: "unless a different lower bound is established by a specific
        # ecosystem specification".
        small = StatusList(1024, min_entries=1024)
        small.set(17)
        cred = revocation_list()
        cred["credentialSubject"]["encodedList"] = small.encode()
        assert check(self.entry(), cred, min_entries=1024).set


class TestValidityPeriod:
    def entry(self) -> dict[str, str]:
        return make_status_entry(URL, 17, "revocation")

    def cred(self) -> dict[str, Any]:
        return revocation_list(valid_from=T0, valid_until=T0 + timedelta(minutes=5))

    def test_within_period_is_accepted(self) -> None:
        assert check(self.entry(), self.cred(), clock=clock(T0)).valid
        assert check(self.entry(), self.cred(), clock=clock(T0 + timedelta(seconds=299))).valid

    def test_expired_list_is_refused(self) -> None:
        refused(
            self.entry(),
            self.cred(),
            "status_list_expired",
            VerificationError,
            clock=clock(T0 + timedelta(minutes=6)),
        )

    def test_list_expires_at_valid_until(self) -> None:
        refused(
            self.entry(),
            self.cred(),
            "status_list_expired",
            VerificationError,
            clock=clock(T0 + timedelta(minutes=5)),
        )

    def test_list_not_yet_valid_is_refused(self) -> None:
        refused(
            self.entry(),
            self.cred(),
            "status_list_not_yet_valid",
            VerificationError,
            clock=clock(T0 - timedelta(seconds=1)),
        )

    def test_clock_moves_without_sleeping(self) -> None:
        c = clock(T0)
        assert check(self.entry(), self.cred(), clock=c).valid
        c.advance(timedelta(minutes=10))
        refused(self.entry(), self.cred(), "status_list_expired", VerificationError, clock=c)

    @pytest.mark.parametrize("field", ["validFrom", "validUntil"])
    @pytest.mark.parametrize("value", ["2026-12-01", "2026-12-01T09:00:00", 1796115600, None])
    def test_bad_dates_are_malformed(self, field: str, value: Any) -> None:
        cred = self.cred()
        cred[field] = value
        refused(self.entry(), cred, "bad_status_list_credential", MalformedError)

    def test_no_validity_period_is_accepted(self) -> None:
        cred = self.cred()
        del cred["validFrom"], cred["validUntil"]
        assert check(self.entry(), cred, clock=clock(datetime(2999, 1, 1, tzinfo=UTC))).valid


# --- BSL §2.1 statusListIndex SHOULD be random; §6.5 ----------------------------------


class TestRandomFreeIndex:
    def test_never_returns_a_used_index(self) -> None:
        used = set(range(0, 1000, 2))
        rng = random.Random(7)
        picks = {random_free_index(1000, used, rng=_R(rng)) for _ in range(500)}
        assert picks and not picks & used
        assert all(0 <= p < 1000 for p in picks)

    def test_is_random_not_sequential(self) -> None:
        picks = [random_free_index(MIN_ENTRIES, set()) for _ in range(50)]
        assert len(set(picks)) > 45
        assert picks != sorted(picks)

    def test_accepts_a_predicate(self) -> None:
        seen: list[int] = []

        def used(i: int) -> bool:
            seen.append(i)
            return i != 3

        assert random_free_index(8, used, rng=_R(random.Random(1))) == 3
        assert seen[-1] == 3

    def test_full_container_is_refused(self) -> None:
        with pytest.raises(ConflictError) as info:
            random_free_index(4, {0, 1, 2, 3})
        assert info.value.reason == "status_list_full"

    def test_gives_up_after_max_attempts(self) -> None:
        always: Callable[[int], bool] = lambda _i: True  # noqa: E731
        with pytest.raises(ConflictError) as info:
            random_free_index(MIN_ENTRIES, always, max_attempts=10)
        assert info.value.reason == "status_list_full"

    @pytest.mark.parametrize("size", [0, -1, True])
    def test_size_must_be_positive(self, size: Any) -> None:
        with pytest.raises(ValueError):
            random_free_index(size, set())

    def test_issued_entry_round_trips_through_check_status(self) -> None:
        used: set[int] = set()
        sl = StatusList()
        entries = []
        for _ in range(20):
            index = random_free_index(sl.entries, used)
            used.add(index)
            entries.append(make_status_entry(URL, index, "revocation"))
        revoked = int(entries[3]["statusListIndex"])
        sl.set(revoked)
        cred = build_status_list_credential(URL, ISSUER, "revocation", sl, T0)
        results = [check(e, cred) for e in entries]
        assert [r.index for r in results if r.set] == [revoked]


class _R:
    """A seeded IndexRNG for deterministic tests."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def randbelow(self, n: int, /) -> int:
        return self._rng.randrange(n)
