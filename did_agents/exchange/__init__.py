"""RFC 8693 token exchange: verified presentation + delegation chain + policy → RFC 9068 access token.

Modules: :mod:`~did_agents.exchange.request` (form and parameter rules),
:mod:`~did_agents.exchange.actor_token`, :mod:`~did_agents.exchange.access_token`
(minting, JWKS, rotation), :mod:`~did_agents.exchange.status_lists` (TTL cache),
:mod:`~did_agents.exchange.token_exchange` (the exchange itself) and
:mod:`~did_agents.exchange.introspection` (RFC 7662).
"""

from did_agents.exchange.access_token import ACCESS_TOKEN_TYP, AccessTokenSigner
from did_agents.exchange.actor_token import ACTOR_TOKEN_TYP, ActorToken, sign_actor_token, verify_actor_token
from did_agents.exchange.introspection import introspect
from did_agents.exchange.request import (
    ACCESS_TOKEN_TYPE,
    GRANT_TYPE_TOKEN_EXCHANGE,
    JWT_TOKEN_TYPE,
    VP_TOKEN_TYPE,
    TokenExchangeRequest,
)
from did_agents.exchange.status_lists import (
    DatabaseStatusRecheck,
    StatusListSource,
    StatusRecheck,
    fetch_status_list,
)
from did_agents.exchange.token_exchange import CHALLENGE_PURPOSE, ExchangeConfig, TokenExchange, TokenResponse

__all__ = [
    "ACCESS_TOKEN_TYP",
    "ACCESS_TOKEN_TYPE",
    "ACTOR_TOKEN_TYP",
    "CHALLENGE_PURPOSE",
    "GRANT_TYPE_TOKEN_EXCHANGE",
    "JWT_TOKEN_TYPE",
    "VP_TOKEN_TYPE",
    "AccessTokenSigner",
    "ActorToken",
    "DatabaseStatusRecheck",
    "ExchangeConfig",
    "StatusListSource",
    "StatusRecheck",
    "TokenExchange",
    "TokenExchangeRequest",
    "TokenResponse",
    "fetch_status_list",
    "introspect",
    "sign_actor_token",
    "verify_actor_token",
]
