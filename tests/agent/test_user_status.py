"""DelegatingUser: status indexes are random and unique (W3C BSL §6 privacy considerations)."""

from did_agents.agent.user import DelegatingUser
from did_agents.clock import FixedClock

MCP = "https://mcp.urbanbites.example/mcp"


def test_delegation_status_indexes_are_random_and_unique() -> None:
    user = DelegatingUser(
        status_url="https://smith.example/status/1", clock=FixedClock(), suite="eddsa-jcs-2022"
    )
    indexes = []
    for _ in range(8):
        (signed,) = user.delegate(
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            [{"resource": MCP, "scopes": ["orders:read"]}],
        )
        assert isinstance(signed, dict)
        indexes.append(int(signed["credentialStatus"]["statusListIndex"]))
    assert len(set(indexes)) == len(indexes)
    assert indexes != list(range(indexes[0], indexes[0] + len(indexes)))  # not a counter
    assert max(indexes) > 1000  # drawn from the whole 131,072-entry list
