"""``GET /status/{list}``: the signed BitstringStatusListCredential (BSL §2.2).

Re-signed only when a bit changed; answered with a strong ``ETag`` (the list
version) and ``Cache-Control: max-age`` so verifiers and caches can reuse it
(BSL §6.2 caching; RFC 9111), and ``304`` for a matching ``If-None-Match``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from did_agents.issuance.status import publish_status_list
from issuer.deps import IssuerDep
from issuer.models import ErrorOut

__all__ = ["router"]

router = APIRouter(tags=["status"])


@router.get(
    "/status/{list_id}",
    summary="A signed BitstringStatusListCredential",
    responses={200: {"content": {"application/vc+ld+json": {}}}, 304: {}, 404: {"model": ErrorOut}},
)
def status_list(
    list_id: str,
    request: Request,
    issuer: IssuerDep,
    if_none_match: Annotated[str | None, Header(max_length=256)] = None,
) -> Response:
    published = publish_status_list(issuer, list_id)
    max_age = request.app.state.settings.status_list_max_age
    headers = {"ETag": published.etag, "Cache-Control": f"public, max-age={max_age}"}
    if if_none_match is not None and published.etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(published.body, media_type="application/vc+ld+json", headers=headers)
