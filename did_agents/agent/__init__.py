"""The agent SDK (DESIGN §1, "agent developers"): identity, credentials, tokens, MCP sessions.

::

    agent = AgentIdentity.from_keystore(store, "ordering")
    await agent.onboard(ISSUER, operator_token, name="Ordering", owner="mailto:ops@example",
                        capabilities=[{"resource": MCP, "scopes": ["orders:read"]}], delegators=["staff"])
    agent.accept(delegation_chain_from_the_user)
    async with mcp_session(agent, MCP_URL, verifier_url=VERIFIER, resource=MCP, scope="orders:read") as mcp:
        await mcp.call_tool("list_orders")

Users sign delegations with :class:`DelegatingUser` (and revoke them through
their own status list).
"""

from did_agents.agent.auth import AgentAuth, AgentMCPSession, MCPBearerAuth, mcp_session
from did_agents.agent.identity import AgentIdentity, Credential, Grant, credential_document
from did_agents.agent.tokens import AccessGrant, TokenCache
from did_agents.agent.user import DelegatingUser

__all__ = [
    "AccessGrant",
    "AgentAuth",
    "AgentIdentity",
    "AgentMCPSession",
    "Credential",
    "DelegatingUser",
    "Grant",
    "MCPBearerAuth",
    "TokenCache",
    "credential_document",
    "mcp_session",
]
