"""Effective-scope modes (DESIGN §5, docs/policy.md) at the token endpoint of a live verifier
(uvicorn on 127.0.0.1): the resource's ``mode`` changes the scope granted over the wire, as in the
in-process tests (tests/exchange/test_token_exchange.py). Each case runs the same request against a
verifier with the default ``intersection`` mode and against one with the other mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from did_agents.storage.database import Database
from tests.exchange.harness import Harness
from tests.servers import run_server
from tests.verifier.conftest import Live, build_app


@contextmanager
def serving(db: Database, tmp_path: Path, mode: str, extra: str = "") -> Iterator[Live]:
    h = Harness(db, tmp_path)
    h.policy = h.w.policy(mode, extra=extra)
    app = build_app(h)
    with run_server(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield Live(h, app, url, client, operator_token="")


@pytest.mark.parametrize("mode", ["intersection", "union"])
def test_union_mode_grants_what_the_user_holds_over_http(db: Database, tmp_path: Path, mode: str) -> None:
    """The HR agent lacks orders:delete; smith holds it (orders:*) and delegates it."""
    with serving(db, tmp_path, mode) as live:
        w = live.w
        delegation = w.delegation(w.smith, w.hr, ["orders:read", "orders:delete"])
        token = live.subject_token(w.hr, [delegation, w.hr_acc(), w.smith_role()])
        response = live.post_token(live.form(token, scope="orders:delete"))
    if mode == "union":
        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "orders:delete"
    else:
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_scope"


@pytest.mark.parametrize("mode", ["intersection", "subset"])
def test_subset_mode_limits_to_the_allowlist_over_http(db: Database, tmp_path: Path, mode: str) -> None:
    """Smith delegates orders:read orders:create; the subset allowlist is orders:read."""
    extra = 'allowed_scopes = ["orders:read"]' if mode == "subset" else ""
    with serving(db, tmp_path, mode, extra) as live:
        w = live.w

        def chain() -> tuple[str, str]:
            return live.subject_token(w.ordering, [w.smith_to_ordering(), w.ordering_acc(), w.smith_role()])

        everything = live.post_token(live.form(chain(), scope=""))
        create = live.post_token(live.form(chain(), scope="orders:create"))
    assert everything.status_code == 200, everything.text
    if mode == "subset":
        assert everything.json()["scope"] == "orders:read"
        assert create.status_code == 400, create.text
        assert create.json()["error"] == "invalid_scope"
    else:
        assert everything.json()["scope"] == "orders:create orders:read"
        assert create.status_code == 200, create.text
        assert create.json()["scope"] == "orders:create"
