"""The status watermark: the newest committed state of each status list, kept outside the
database (SECURITY FLT-14, backup/restore resurrection).

Restoring a database backup taken before a revocation or suspension would otherwise make the
revoked credentials valid again: the issuer's lists live in that database. So after every
commit that changed a status bit, the issuer writes each list's ``version``, purpose, size and
bits to this file (JSON, mode 0600, replaced atomically and fsynced, under a ``flock`` so
several worker processes merge rather than overwrite). Versions only move forward: a merge
keeps, per list, the higher version.

At start-up (:func:`check`) a database that lost a change the watermark holds — a list at an
older version with other bits, or a list with bits set missing altogether — is refused
(``ConfigurationError``, reason ``status_rollback``) until an operator runs ``did-agents
status reconcile``, which writes the watermark's bits back into the database
(:func:`reconcile`) so nothing revoked becomes valid again. The file is only as good as its
storage: keep it out of the database's backups (e.g. ``DID_AGENTS_STATUS_WATERMARK`` on
another volume). A missing file is a first start: it is created from the database.

Format: ``{"format": "did-agents-status-watermark", "version": 1, "lists": {id: {"version",
"purpose", "size", "bits"}}}`` with ``bits`` the gzip-compressed bitstring, base64url.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection

from did_agents.errors import ConfigurationError
from did_agents.files import exclusive_lock, write_private_file
from did_agents.storage.status_lists import StatusListRepository, StatusPurpose

__all__ = ["ListState", "StatusWatermark", "check", "database_states", "reconcile"]

FORMAT: Final = "did-agents-status-watermark"
_VERSION: Final = 1


@dataclass(frozen=True)
class ListState:
    """One status list as committed: its version, purpose, size in bits and bitstring."""

    version: int
    purpose: str
    size: int
    bits: bytes

    def to_json(self) -> dict[str, Any]:
        packed = base64.urlsafe_b64encode(gzip.compress(self.bits, mtime=0)).rstrip(b"=").decode("ascii")
        return {"version": self.version, "purpose": self.purpose, "size": self.size, "bits": packed}

    @classmethod
    def from_json(cls, value: Any) -> ListState:
        if not isinstance(value, Mapping):
            raise ValueError("a list entry must be an object")
        version, purpose, size, bits = (value.get(k) for k in ("version", "purpose", "size", "bits"))
        if type(version) is not int or version < 0 or type(size) is not int or size <= 0 or size % 8:
            raise ValueError("bad version or size")
        if not isinstance(purpose, str) or not isinstance(bits, str):
            raise ValueError("bad purpose or bits")
        raw = gzip.decompress(base64.urlsafe_b64decode(bits + "=" * (-len(bits) % 4)))
        if len(raw) != size // 8:
            raise ValueError("bits do not match the size")
        return cls(version, purpose, size, raw)


class StatusWatermark:
    """The watermark file at ``path`` (see module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StatusWatermark({str(self.path)!r})"

    def load(self) -> dict[str, ListState] | None:
        """The recorded lists; ``None`` when there is no file yet. A file that cannot be read
        is a ``ConfigurationError`` (reason ``status_watermark``): never silently ignored."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unreadable(type(exc).__name__) from exc
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise ValueError("not a status watermark")
            if document.get("version") != _VERSION:
                raise ValueError("unsupported version")
            lists = document.get("lists")
            if not isinstance(lists, dict):
                raise ValueError("lists must be an object")
            return {str(list_id): ListState.from_json(entry) for list_id, entry in lists.items()}
        except (ValueError, OSError, EOFError) as exc:  # json, base64 and gzip errors are ValueErrors
            raise self._unreadable(str(exc)[:200]) from exc

    def record(self, states: Mapping[str, ListState]) -> None:
        """Merge ``states`` into the file: per list, the higher version wins."""
        with self.locked():
            merged = dict(self.load() or {})
            changed = False
            for list_id, state in states.items():
                current = merged.get(list_id)
                if current is None or state.version > current.version:
                    merged[list_id] = state
                    changed = True
            if changed or not self.path.exists():
                self._write(merged)

    def replace(self, states: Mapping[str, ListState]) -> None:
        """Write exactly ``states``."""
        with self.locked():
            self._write(dict(states))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's lock (this process's threads and other processes)."""
        with self._lock, exclusive_lock(self._lock_path()):
            yield

    def _write(self, states: Mapping[str, ListState]) -> None:
        document = {
            "format": FORMAT,
            "version": _VERSION,
            "lists": {list_id: states[list_id].to_json() for list_id in sorted(states)},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private_file(self.path, json.dumps(document, indent=1).encode("utf-8") + b"\n")

    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _unreadable(self, why: str) -> ConfigurationError:
        return ConfigurationError(
            f"the status watermark {self.path} cannot be read ({why}); restore it or move it away"
            " only if the database is known to hold every revocation",
            reason="status_watermark",
        )


def database_states(conn: Connection) -> dict[str, ListState]:
    """Every status list in the database, as committed."""
    return {
        status_list.id: ListState(
            status_list.version, status_list.purpose, status_list.size, status_list.bitstring
        )
        for status_list in StatusListRepository(conn).lists()
    }


def behind(database: Mapping[str, ListState], watermark: Mapping[str, ListState]) -> dict[str, str]:
    """Lists whose watermark state the database has lost: id → what is wrong. A list at an
    older version with the same bits (changes that cancelled out, e.g. suspend then resume),
    or missing while no bit of it was ever recorded set, has lost nothing."""
    problems: dict[str, str] = {}
    for list_id, recorded in sorted(watermark.items()):
        held = database.get(list_id)
        if held is None:
            if any(recorded.bits):
                problems[list_id] = f"missing (watermark at version {recorded.version})"
        elif held.version < recorded.version and held.bits != recorded.bits:
            problems[list_id] = f"at version {held.version}, watermark at {recorded.version}"
    return problems


def check(read_database: Callable[[], Mapping[str, ListState]], watermark: StatusWatermark) -> None:
    """Refuse a database that lost status changes the watermark holds (``ConfigurationError``,
    ``status_rollback``); otherwise set the watermark to the database's lists (creating the file
    on a first start). ``read_database`` is called with the file locked, so a change another
    process commits meanwhile is merged in after this, never overwritten."""
    with watermark.locked():
        recorded = watermark.load()
        database = read_database()
        problems = behind(database, recorded or {})
        if problems:
            listed = "; ".join(f"{list_id} {why}" for list_id, why in problems.items())
            raise ConfigurationError(
                f"the database's status lists are older than the status watermark ({listed}): it"
                " looks restored from a backup taken before later revocations or suspensions. Refusing"
                " to start so they stay in force; run `did-agents status reconcile` to write them back",
                reason="status_rollback",
            )
        if recorded != database:
            watermark._write(dict(database))


def reconcile(conn: Connection, watermark: Mapping[str, ListState], *, now: datetime) -> dict[str, str]:
    """Write the watermark's newer lists back into the database (in ``conn``'s transaction):
    each behind list gets the watermark's bits and the version after the watermark's (so a
    list credential signed before is not served again). Returns id → what was done."""
    repo = StatusListRepository(conn)
    done: dict[str, str] = {}
    held = database_states(conn)
    for list_id, why in behind(held, watermark).items():
        state = watermark[list_id]
        if state.purpose not in ("revocation", "suspension"):
            raise ConfigurationError(f"status list {list_id}: unknown purpose", reason="status_watermark")
        purpose: StatusPurpose = "revocation" if state.purpose == "revocation" else "suspension"
        repo.restore(
            list_id, purpose, size=state.size, bitstring=state.bits, version=state.version + 1, now=now
        )
        done[list_id] = f"{why}: bits written back, now at version {state.version + 1}"
    return done
