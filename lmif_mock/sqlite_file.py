"""The ``--db`` file itself: made private to its owner, locked, checked and brought to the
current schema before the store reads or writes a record in it.

The file holds the API key and every webhook secret, so it (and its ``-wal`` journal, which SQLite
creates with the same mode) is readable by its owner only. It carries a schema version
(``PRAGMA user_version``): an unversioned file from lmif-mock 0.1 is migrated in place, anything
else this code cannot read (another program's database, a newer lmif-mock's, a damaged file) is
refused with one :class:`DatabaseFileError` line saying why, before anything is written to it.
One server at a time: the file is locked exclusively while open.

WAL journal with ``synchronous=NORMAL``: every write is one autocommitted statement, durable
against the process being killed (``kill -9``) without an fsync per delivery attempt.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from lmif_mock.errors import LMIFMockError

#: The layout this code writes; bump it with a migration in :data:`MIGRATIONS` when it changes.
SCHEMA_VERSION = 1
#: Owner read/write only: the file holds the API key and every webhook secret.
FILE_MODE = 0o600
#: The tables and columns every readable layout has (the unversioned 0.1 layout included).
REQUIRED_COLUMNS = {
    "webhooks": {"id", "doc"},
    "events": {"id", "type", "doc"},
    "deliveries": {"id", "event_id", "webhook_id", "status", "doc", "body"},
    "meta": {"key", "value"},
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);
CREATE INDEX IF NOT EXISTS deliveries_webhook ON deliveries (webhook_id);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class DatabaseFileError(LMIFMockError):
    """The ``--db`` file cannot be used; the message is one line saying why and what to do."""


def _migrate_unversioned(db: sqlite3.Connection) -> None:
    """lmif-mock 0.1 wrote today's layout without a version: only the stamp is missing."""


#: ``from_version -> step``; each step brings a file one version forward inside one transaction.
MIGRATIONS = {0: _migrate_unversioned}


def _owner_only(path: Path) -> None:
    """Create ``path`` readable by its owner only, or narrow an existing file to that mode.

    Created before SQLite opens it, so the secrets are never in a world-readable file, not even
    for a moment; SQLite gives its ``-wal``/``-shm`` files the database file's mode.
    """
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
        return
    except FileExistsError:
        pass
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = companion.stat()
        except FileNotFoundError:
            continue
        if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.geteuid():
            companion.chmod(stat.S_IMODE(info.st_mode) & 0o700)


def _check_path(path: Path) -> None:
    """Refuse what is plainly not a database file before SQLite sees it (clearer messages)."""
    if path.is_dir():
        raise DatabaseFileError(
            f"{path} is a directory; give --db a file path, e.g. {path}/lmif.db"
        )
    if not path.parent.is_dir():
        raise DatabaseFileError(f"cannot create {path}: directory {path.parent} does not exist")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseFileError(
            f"{path} is read-only; lmif-mock records every delivery in it: make it writable "
            "or pass another --db"
        )


def _tables(db: sqlite3.Connection) -> dict[str, set[str]]:
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: {row[1] for row in db.execute(f'PRAGMA table_info("{name}")')} for name in names}


def _explain(path: Path, exc: sqlite3.Error) -> str:
    """SQLite's complaint about ``path`` as one line a user can act on."""
    text = str(exc)
    advice = "move it aside or pass another --db"
    if "locked" in text:
        return f"{path} is in use by another lmif-mock (or program); stop it or pass another --db"
    if "readonly" in text:
        return f"{path} is read-only; lmif-mock records every delivery in it: make it writable"
    if "not a database" in text or "malformed" in text:
        return f"{path} is not an SQLite database or is damaged ({text}); {advice}"
    return f"cannot use {path} as the database ({text}); {advice}"


def _missing(tables: dict[str, set[str]]) -> list[str]:
    """What a readable layout needs and ``tables`` lacks, as ``table`` or ``table.column``."""
    absent = [name for name in REQUIRED_COLUMNS if name not in tables]
    short = [
        f"{name}.{column}"
        for name, columns in REQUIRED_COLUMNS.items()
        if name in tables
        for column in sorted(columns - tables[name])
    ]
    return absent + short


def _inspect(db: sqlite3.Connection, path: Path) -> tuple[int, bool]:
    """Check the file's integrity, version and layout without writing a byte to it; returns its
    version and whether it is new (empty)."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise DatabaseFileError(
            f"{path} is damaged ({problems[0]}); move it aside and start with a new --db file"
        )
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise DatabaseFileError(
            f"{path} was written by a newer lmif-mock (schema {version}; this one reads up to "
            f"{SCHEMA_VERSION}); upgrade lmif-mock or pass another --db"
        )
    tables = _tables(db)
    fresh = version == 0 and not tables
    missing = [] if fresh else _missing(tables)
    if missing:
        ours = set(tables) & set(REQUIRED_COLUMNS)
        kind = (
            "an lmif-mock layout that cannot be migrated" if ours else "not an lmif-mock database"
        )
        raise DatabaseFileError(
            f"{path} is {kind} (schema {version}, missing {', '.join(missing)}); "
            "move it aside or pass another --db"
        )
    return version, fresh


def _upgrade(db: sqlite3.Connection, version: int, fresh: bool) -> None:
    """Create or migrate the layout in one transaction: a failed step leaves the file as it was."""
    db.execute("BEGIN IMMEDIATE")
    try:
        while not fresh and version < SCHEMA_VERSION:
            MIGRATIONS[version](db)
            version += 1
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def open_database(path: Path) -> sqlite3.Connection:
    """A connection to ``path`` in autocommit mode, locked, checked and at :data:`SCHEMA_VERSION`;
    :class:`DatabaseFileError` (one line saying why and what to do) if the file cannot be used."""
    _check_path(path)
    try:
        _owner_only(path)
    except OSError as exc:
        raise DatabaseFileError(f"cannot create {path}: {exc.strerror}") from None
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        # Exclusive: a second server on the same file would send every pending retry twice.
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        version, fresh = _inspect(db, path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        _upgrade(db, version, fresh)
    except sqlite3.Error as exc:
        db.close()
        raise DatabaseFileError(_explain(path, exc)) from None
    except DatabaseFileError:
        db.close()
        raise
    return db
