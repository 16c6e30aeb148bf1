"""Credential status: W3C Bitstring Status List v1.0 (``bitstring``)."""

from did_agents.status.bitstring import (
    StatusList,
    StatusResult,
    build_status_list_credential,
    check_status,
    make_status_entry,
    random_free_index,
)

__all__ = [
    "StatusList",
    "StatusResult",
    "build_status_list_credential",
    "check_status",
    "make_status_entry",
    "random_free_index",
]
