#!/usr/bin/env python3
"""Back up and restore ProDev Hub: the PostgreSQL database and the media folder.

    python ops/backups.py create                  # make backup
    python ops/backups.py restore DIR [--force]   # make restore FILE=DIR [FORCE=1]
    python ops/backups.py verify DIR              # checksums only; touches nothing

A backup is a folder ``$BACKUP_DIR/<UTC timestamp>/`` (``backups/`` by default):

- ``db.dump``: ``pg_dump --format=custom`` of ``DATABASE_URL``;
- ``media.tar.gz``: every file under ``MEDIA_ROOT`` (``var/media`` by default);
- ``manifest.json``: the row count of every table, taken in the very snapshot
  the dump was made from, and the sha256 of the dump, the archive and each media file.

The folder is written as ``.<timestamp>.partial`` and renamed when complete, so a
backup that failed half way never looks like a good one. Restore checks every
checksum before it touches anything, refuses a database or media folder that is not
empty unless forced, restores with ``pg_restore --clean --if-exists --no-owner`` in one
transaction, and then compares the restored row counts and media hashes with the
manifest. docs/operations.md has the schedule, retention and the restore drill.

Exit status: 0 done, 1 failed or verification mismatch, 2 bad usage or environment,
3 refused (the target is not empty; pass --force).

Needs the application's Python environment (Django's ``site_config.env`` reads
``DATABASE_URL`` exactly as the site does; psycopg2 queries the counts) and the
PostgreSQL client tools, at least as new as the server (``PG_DUMP`` and
``PG_RESTORE`` name other binaries, e.g. /usr/lib/postgresql/17/bin/pg_dump).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from psycopg2 import sql  # noqa: E402

from site_config.env import envdatabase, envstr  # noqa: E402

MANIFEST_FORMAT = 1
DUMP_NAME = "db.dump"
MEDIA_NAME = "media.tar.gz"
MANIFEST_NAME = "manifest.json"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
CHUNK = 1024 * 1024
# Schemas PostgreSQL owns; everything else is ours and counts as data.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")

OK, FAILED, USAGE, REFUSED = 0, 1, 2, 3


class BackupError(Exception):
    """A failure with a message for the operator, and the exit status to end with."""

    def __init__(self, message: str, status: int = FAILED) -> None:
        super().__init__(message)
        self.status = status


# --- Configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """Where DATABASE_URL points, as psycopg2 and the libpq tools take it."""

    name: str
    user: str
    password: str
    host: str
    port: str
    options: dict[str, str]

    @classmethod
    def from_environment(cls) -> Database:
        try:
            entry = envdatabase("DATABASE_URL")
        except ImproperlyConfigured as error:
            raise BackupError(str(error), USAGE) from None
        if entry is None or entry["ENGINE"] != "django.db.backends.postgresql":
            raise BackupError(
                "DATABASE_URL must point at PostgreSQL (postgres://user@host:5432/name): "
                "backups use pg_dump. A SQLite development database is a single file; copy it.",
                USAGE,
            )
        return cls(
            name=str(entry["NAME"]),
            user=str(entry["USER"]),
            password=str(entry["PASSWORD"]),
            host=str(entry["HOST"]),
            port=str(entry["PORT"]),
            options={str(key): str(value) for key, value in dict(entry["OPTIONS"]).items()},
        )

    def connect(self) -> Any:
        try:
            return psycopg2.connect(
                dbname=self.name,
                user=self.user or None,
                password=self.password or None,
                host=self.host,
                port=self.port,
                **self.options,
            )
        except psycopg2.OperationalError as error:
            raise BackupError(f"Cannot connect to {self}: {error}".strip()) from None

    def conninfo(self) -> str:
        """A libpq connection string without the password (that travels in PGPASSWORD)."""
        fields = {"dbname": self.name, "host": self.host, "port": self.port, "user": self.user}
        fields |= self.options
        return " ".join(f"{key}={_quote(value)}" for key, value in fields.items() if value)

    def tool_environment(self) -> dict[str, str]:
        """Our environment for pg_dump and pg_restore, with the password out of argv."""
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def __str__(self) -> str:
        return f"database {self.name!r} on {self.host}:{self.port}"


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def media_root() -> Path:
    """MEDIA_ROOT as the settings read it: var/media under the project by default."""
    return Path(envstr("MEDIA_ROOT", str(ROOT / "var" / "media"))).resolve()


def backup_root() -> Path:
    return Path(envstr("BACKUP_DIR", str(ROOT / "backups"))).resolve()


def _tool(variable: str, name: str) -> str:
    """The binary named by ``variable`` (PG_DUMP, PG_RESTORE), else ``name`` on PATH."""
    chosen = envstr(variable, name)
    found = shutil.which(chosen)
    if found is None:
        raise BackupError(
            f"{chosen} was not found. Install the PostgreSQL client tools "
            f"(apt-get install postgresql-client) or set {variable} to the binary.",
            USAGE,
        )
    return found


def _major_version(binary: str) -> int:
    """The major version a PostgreSQL client tool reports (``pg_dump (PostgreSQL) 15.20``)."""
    output = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"\)\s*(\d+)", output)
    if match is None:
        raise BackupError(f"Cannot read the version of {binary}: {output!r}", USAGE)
    return int(match.group(1))


# --- Checksums -----------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def media_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``root`` as (posix path relative to root, path), sorted."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path.relative_to(root).as_posix(), path


def media_hashes(root: Path) -> dict[str, dict[str, object]]:
    return {
        name: {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        for name, path in media_files(root)
    }


# --- Row counts ----------------------------------------------------------------------------


def table_counts(cursor: Any) -> dict[str, int]:
    """Exact row counts of every table outside PostgreSQL's own schemas, ``schema.table``."""
    cursor.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN %s "
        "AND table_schema NOT LIKE 'pg\\_%%' ORDER BY table_schema, table_name",
        (SYSTEM_SCHEMAS,),
    )
    counts = {}
    for schema, table in cursor.fetchall():
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        )
        counts[f"{schema}.{table}"] = cursor.fetchone()[0]
    return counts


def relation_count(cursor: Any) -> int:
    """Tables, views and sequences outside PostgreSQL's own schemas: 0 for an empty database."""
    cursor.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT IN %s AND n.nspname NOT LIKE 'pg\\_%%' "
        "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')",
        (SYSTEM_SCHEMAS,),
    )
    return cursor.fetchone()[0]


# --- create --------------------------------------------------------------------------------


def create() -> Path:
    """Dump the database and archive the media folder into a new timestamped folder."""
    database = Database.from_environment()
    media = media_root()
    pg_dump = _tool("PG_DUMP", "pg_dump")
    started = datetime.now(UTC)
    final = backup_root() / started.strftime(TIMESTAMP_FORMAT)
    if final.exists():
        raise BackupError(f"{final} already exists: wait a second and run the backup again.")
    partial = final.with_name(f".{final.name}.partial")
    partial.mkdir(parents=True)
    try:
        database_entry = _dump(database, pg_dump, partial / DUMP_NAME)
        # After the dump: every file a dumped row names was written before its row committed.
        files = _archive_media(media, partial / MEDIA_NAME)
        manifest = {
            "format": MANIFEST_FORMAT,
            "created_at": started.isoformat().replace("+00:00", "Z"),
            "finished_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "database": database_entry,
            "media": {
                "archive": MEDIA_NAME,
                "sha256": sha256_file(partial / MEDIA_NAME),
                "source": str(media),
                "files": files,
            },
        }
        (partial / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    tables = database_entry["tables"]
    rows = sum(tables.values())
    print(
        f"Backed up {database} ({len(tables)} tables, {rows} rows) and {len(files)} media "
        f"files from {media} into {final}"
    )
    return final


def _dump(database: Database, pg_dump: str, target: Path) -> dict[str, object]:
    """pg_dump in the snapshot the row counts are taken in, so the two always agree."""
    connection = database.connect()
    try:
        server_major = connection.server_version // 10000
        tool_major = _major_version(pg_dump)
        if tool_major < server_major:
            raise BackupError(
                f"{pg_dump} is version {tool_major} but the server runs PostgreSQL "
                f"{server_major}: pg_dump must be at least as new as the server. Install "
                f"postgresql-client-{server_major} or set PG_DUMP to its pg_dump.",
                USAGE,
            )
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            tables = table_counts(cursor)
            result = subprocess.run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={database.conninfo()}",
                ],
                env=database.tool_environment(),
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed:\n{result.stderr.strip()}")
        return {
            "name": database.name,
            "host": database.host,
            "server_version": connection.server_version,
            "pg_dump_version": tool_major,
            "dump": DUMP_NAME,
            "sha256": sha256_file(target),
            "bytes": target.stat().st_size,
            "tables": tables,
        }
    finally:
        connection.rollback()
        connection.close()


def _archive_media(root: Path, target: Path) -> dict[str, dict[str, object]]:
    """Tar and gzip every file under ``root``; returns each file's sha256 and size."""
    files: dict[str, dict[str, object]] = {}
    with tarfile.open(target, "w:gz") as archive:
        for name, path in media_files(root):
            # Uploads are never rewritten (random names), so hashing then adding is safe.
            files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
            archive.add(path, arcname=name, recursive=False)
    return files


# --- verify --------------------------------------------------------------------------------


def load_manifest(folder: Path) -> dict[str, Any]:
    """The backup's manifest, after checking the dump and the archive against it."""
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a backup folder (expected backups/<timestamp>).", USAGE)
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} has no {MANIFEST_NAME}: not a complete backup.") from None
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{folder}: unknown manifest format {manifest.get('format')!r}.")
    for name, expected in [
        (DUMP_NAME, manifest["database"]["sha256"]),
        (MEDIA_NAME, manifest["media"]["sha256"]),
    ]:
        path = folder / name
        if not path.is_file():
            raise BackupError(f"{path} is missing.")
        if sha256_file(path) != expected:
            raise BackupError(f"{path} does not match its sha256 in the manifest: it is damaged.")
    return manifest


def verify(folder: Path) -> dict[str, Any]:
    """Check every checksum of a backup (dump, archive, each archived file) without restoring."""
    manifest = load_manifest(folder)
    expected = manifest["media"]["files"]
    found: dict[str, str] = {}
    with tarfile.open(folder / MEDIA_NAME, "r:gz") as archive:
        for member in archive:
            if member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                digest = hashlib.sha256()
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                found[member.name] = digest.hexdigest()
    wrong = _differences({name: entry["sha256"] for name, entry in expected.items()}, found)
    if wrong:
        raise BackupError(f"{folder / MEDIA_NAME} does not hold what the manifest lists:\n{wrong}")
    tables = manifest["database"]["tables"]
    print(
        f"{folder} is intact: {len(tables)} tables, {sum(tables.values())} rows, "
        f"{len(found)} media files, taken {manifest['created_at']}."
    )
    return manifest


def _differences(expected: dict[str, Any], found: dict[str, Any], limit: int = 20) -> str:
    """What differs between two name → value maps, one line each (empty when equal)."""
    lines = []
    for name in sorted(expected.keys() | found.keys()):
        if expected.get(name) != found.get(name):
            lines.append(f"  {name}: expected {expected.get(name)!r}, found {found.get(name)!r}")
    if len(lines) > limit:
        lines[limit:] = [f"  … and {len(lines) - limit} more"]
    return "\n".join(lines)


# --- restore -------------------------------------------------------------------------------


def restore(folder: Path, *, force: bool = False) -> None:
    """Restore a backup into DATABASE_URL and MEDIA_ROOT, then check it against the manifest."""
    database = Database.from_environment()
    media = media_root()
    pg_restore = _tool("PG_RESTORE", "pg_restore")
    manifest = verify(folder)

    connection = database.connect()
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            relations = relation_count(cursor)
        existing_media = next(media_files(media), None)
        if not force and (relations or existing_media):
            found = []
            if relations:
                found.append(f"{database} has {relations} tables, views or sequences")
            if existing_media:
                found.append(f"{media} holds files ({existing_media[0]}, …)")
            raise BackupError(
                "Refusing to restore over existing data: "
                + "; ".join(found)
                + ". Restore into a new, empty database and media folder, or pass FORCE=1 "
                "(make restore FILE=… FORCE=1) to replace the tables and files the backup holds.",
                REFUSED,
            )
        result = subprocess.run(
            [
                pg_restore,
                "--clean",
                "--if-exists",
                "--no-owner",
                # Roles differ between servers; the application needs no GRANTs of its own.
                "--no-acl",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={database.conninfo()}",
                str(folder / DUMP_NAME),
            ],
            env=database.tool_environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(
                f"pg_restore failed; the database is unchanged (one transaction):\n"
                f"{result.stderr.strip()}"
            )
        _unpack_media(folder / MEDIA_NAME, media)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # pg_restore leaves the planner without statistics
            restored = table_counts(cursor)
    finally:
        connection.close()
    _check_restored(manifest, restored, media)
    tables = manifest["database"]["tables"]
    print(
        f"Restored {folder} into {database} ({len(tables)} tables, {sum(tables.values())} rows) "
        f"and {len(manifest['media']['files'])} media files into {media}. Row counts and media "
        "hashes match the manifest."
    )


def _unpack_media(archive_path: Path, media: Path) -> None:
    media.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive_path, "r:gz") as archive:
        # The "data" filter refuses absolute paths, .. and links that leave the folder.
        archive.extractall(media, filter="data")


def _check_restored(manifest: dict[str, Any], restored: dict[str, int], media: Path) -> None:
    expected_tables = manifest["database"]["tables"]
    # With --force, tables the backup does not know are left alone: only compare its own.
    restored = {name: count for name, count in restored.items() if name in expected_tables}
    problems = []
    if wrong := _differences(expected_tables, restored):
        problems.append(f"Row counts differ from the manifest:\n{wrong}")
    expected_files = {name: entry["sha256"] for name, entry in manifest["media"]["files"].items()}
    found_files = {
        name: sha256_file(path) for name, path in media_files(media) if name in expected_files
    }
    if wrong := _differences(expected_files, found_files):
        problems.append(f"Media files differ from the manifest:\n{wrong}")
    if problems:
        raise BackupError("The restore does not match the backup.\n" + "\n".join(problems))


# --- Command line --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ops/backups.py",
        description="Back up and restore ProDev Hub's database and media folder.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create", help="back up DATABASE_URL and MEDIA_ROOT into BACKUP_DIR")
    restore_parser = commands.add_parser(
        "restore", help="restore a backup folder into DATABASE_URL and MEDIA_ROOT"
    )
    restore_parser.add_argument("folder", type=Path, help="backups/<timestamp>")
    restore_parser.add_argument(
        "--force", action="store_true", help="restore even over a database or media folder in use"
    )
    verify_parser = commands.add_parser("verify", help="check a backup's checksums only")
    verify_parser.add_argument("folder", type=Path, help="backups/<timestamp>")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            create()
        elif args.command == "restore":
            restore(args.folder.resolve(), force=args.force)
        else:
            verify(args.folder.resolve())
    except BackupError as error:
        print(f"{parser.prog} {args.command}: {error}", file=sys.stderr)
        return error.status
    return OK


if __name__ == "__main__":
    sys.exit(main())
