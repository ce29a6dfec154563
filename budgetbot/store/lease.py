"""Who holds a delivery lease, and whether that holder is still alive.

A notification is *leased* before it is sent (``Store.claim``), so two processes never send it at
once. The wall-clock end of a lease (``BUDGETBOT_DELIVERY_LEASE``) is the last resort; a lease
whose holder is known dead is taken over at once:

- **PostgreSQL**: a holder keeps a session-level advisory lock, keyed by its owner id, for as long
  as it delivers. The lock dies with the holder's database session (a killed process, a lost
  host), so a lease whose holder's lock can be taken is dead.
- **SQLite** (one host by nature): the owner id names the host, a process id and the process's pid
  namespace and boot; a holder on this host whose process is gone (``os.kill(pid, 0)``) or a
  zombie is dead. A holder on another host cannot be checked and is waited for.

An owner id reads ``host:pid:space:token``: ``space`` tells two pid namespaces (containers, a
reboot) apart, ``token`` two delivery runs of one process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["LeaseHolder", "Owner", "owner_alive", "wall_clock"]

log = logging.getLogger("budgetbot.store.lease")

#: First key of the advisory locks of lease holders (the second is the owner's hash); the
#: two-key form never collides with the schema upgrade's one-key lock.
LOCK_CLASS = 7262002


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _pid_space() -> str:
    """This host's pid namespace and boot, short: equal only where a pid means one process."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    seed = "|".join([socket.gethostname(), _read("/proc/sys/kernel/random/boot_id"), namespace])
    return hashlib.sha1(seed.encode()).hexdigest()[:12]


_SPACE = _pid_space()
#: Owner ids of the delivery runs of this process that are under way.
_ACTIVE: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Owner:
    """A parsed owner id."""

    host: str
    pid: int
    space: str

    @classmethod
    def parse(cls, owner: str) -> Owner | None:
        parts = owner.rsplit(":", 3)
        if len(parts) != 4 or not parts[1].isdigit():
            return None  # an owner id of an older budgetbot: waited for, never guessed at
        return cls(parts[0], int(parts[1]), parts[2])

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}"


def new_owner() -> str:
    """A fresh owner id for one delivery run of this process."""
    host = socket.gethostname().replace(":", "_")[:64]
    return f"{host}:{os.getpid()}:{_SPACE}:{uuid.uuid4().hex[:8]}"


def describe(owner: str | None) -> str:
    """``process 4242 on worker-1`` (or the raw id when it cannot be parsed)."""
    parsed = Owner.parse(owner or "")
    return str(parsed) if parsed else repr(owner)


def _lock_key(owner: str) -> int:
    return int.from_bytes(hashlib.sha1(owner.encode()).digest()[:4], "big", signed=True)


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    # A killed process not yet reaped by its parent still answers: a zombie is dead too.
    stat = _read(f"/proc/{pid}/stat")
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def owner_alive(engine: Engine, owner: str | None) -> bool:
    """False only when the lease's holder is certainly dead; True when alive or unknowable."""
    if not owner:
        return False  # nobody holds it
    with _ACTIVE_LOCK:
        if owner in _ACTIVE:
            return True
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = _lock_key(owner)
            taken = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:c, :k)"), {"c": LOCK_CLASS, "k": key}
            ).scalar_one()
            if taken:
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:c, :k)"), {"c": LOCK_CLASS, "k": key}
                )
            conn.commit()
        return not taken
    parsed = Owner.parse(owner)
    if parsed is None or parsed.space != _SPACE:
        return True  # another host (or an old id): only the wall clock can tell
    if parsed.pid == os.getpid():
        return False  # this process, but no run of it holds this id any more
    return not _process_gone(parsed.pid)


class LeaseHolder(AbstractContextManager["LeaseHolder"]):
    """One delivery run's owner id, kept provably alive while the run lasts.

    On PostgreSQL it holds its advisory lock on a connection of its own; :meth:`holding` says
    whether that session still stands (if it fell, others may take the run's leases over, so
    the run must stop sending).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.owner = new_owner()
        self._conn: Connection | None = None

    def __enter__(self) -> LeaseHolder:
        with _ACTIVE_LOCK:
            _ACTIVE.add(self.owner)
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            # A 32-bit key may, rarely, be another live holder's: then take another id.
            while not conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:c, :k)"),
                {"c": LOCK_CLASS, "k": _lock_key(self.owner)},
            ).scalar_one():
                self._rename()
            conn.commit()  # the lock is the session's: no transaction stays open
            self._conn = conn
        return self

    def _rename(self) -> None:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self.owner)
            self.owner = new_owner()
            _ACTIVE.add(self.owner)

    def holding(self) -> bool:
        """Whether this run's liveness is still visible to other processes."""
        if self._conn is None:
            return True
        try:
            self._conn.execute(sa.text("SELECT 1"))
            self._conn.commit()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("lost the database session that proves this process alive: %s", exc)
            return False
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(self.owner)
        if self._conn is not None:
            try:
                # Closing returns the connection to the pool: unlock first, or it would stay.
                self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:c, :k)"),
                    {"c": LOCK_CLASS, "k": _lock_key(self.owner)},
                )
                self._conn.commit()
            except sa.exc.SQLAlchemyError:
                self._conn.invalidate()  # a dead session has released its locks already
            finally:
                self._conn.close()
                self._conn = None


def wall_clock() -> dt.datetime:
    """Now, by the wall clock: what leases are measured in (they are shared across hosts)."""
    return dt.datetime.now(dt.UTC)
