"""Where a study lives: an Optuna RDB storage (a SQLite file by default, any SQLAlchemy URL such as
PostgreSQL) that every worker of the study opens, with heartbeats so that dead workers are noticed.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path

from pigskin.errors import PigskinError


def default_storage(out: Path) -> str:
    return f"sqlite:///{Path(out).resolve() / 'study.db'}"


def redact(url: str) -> str:
    """A storage URL fit to print or write to a file (no password)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def open_storage(
    url: str, heartbeat_interval: int | None = None, grace_period: int | None = None, create: bool = True
):
    """An RDBStorage with heartbeats, so the trials of a worker that died are detected and failed."""
    import optuna

    if url == ":memory:":  # in-process studies (benchmarks): nothing shared, nothing kept
        return optuna.storages.InMemoryStorage()
    sqlite = url.startswith("sqlite:///") and url != "sqlite:///:memory:"
    if sqlite:
        path = Path(url[len("sqlite:///") :])
        if not create and not path.is_file():
            raise PigskinError(f"no study database at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_wal(path)
    # SQLite serialises writers; wait for the lock instead of failing when two workers write at once.
    engine_kwargs = {"connect_args": {"timeout": 60}} if sqlite else {}
    # Two workers started together both create the schema; Optuna does not guard that, so the
    # loser of the race (table already exists) simply tries again once the winner is done.
    for attempt in range(6):
        try:
            with _creation_lock(path if sqlite else None), warnings.catch_warnings():
                # heartbeats are "experimental" in Optuna since 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                )
            break
        except ImportError as exc:  # e.g. postgresql:// without its driver
            cause = f": {exc.__cause__}" if exc.__cause__ else ""
            raise PigskinError(
                f"storage {redact(url)}: missing database driver{cause} (pip install it, or name an "
                f"installed one in the URL, e.g. postgresql+psycopg2://)"
            ) from None
        except Exception as exc:
            if attempt == 5 or not any(
                w in str(exc).lower() for w in ("already exists", "locked", "duplicate", "unique")
            ):
                raise PigskinError(f"cannot open storage {redact(url)}: {exc}") from None
            time.sleep(0.2 * (attempt + 1))
    if sqlite:
        import sqlalchemy

        @sqlalchemy.event.listens_for(storage.engine, "connect")
        def _fast_commits(dbapi_connection, _record) -> None:
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        storage.engine.dispose()  # reconnect, with the pragma
    return storage


@contextlib.contextmanager
def _creation_lock(db: Path | None):
    """Serialise schema creation among workers on one machine (a lock file beside the SQLite file)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the retry loop alone handles the race
        fcntl = None
    if db is None or fcntl is None:
        yield
        return
    with open(db.with_name(db.name + ".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _sqlite_wal(path: Path) -> None:
    """Write-ahead logging: a trial's ~15 small commits cost no fsync each, and readers (a second
    worker, the report) never block the writer. A commit survives a killed process; only an OS
    crash may lose the last ones. WAL needs every worker on one machine: across machines, use an
    RDB server (PostgreSQL), which is what many-machine studies need anyway."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path, timeout=60)) as con:
        con.execute("PRAGMA journal_mode=WAL")
