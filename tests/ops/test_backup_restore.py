"""The backup drill: ``make backup``, then ``make restore`` into a fresh database.

A seeded database plus a media folder is backed up with the real Makefile targets
(ops/backups.py, pg_dump and pg_restore in subprocesses), restored into a new empty
database and media folder, and compared table by table (row count and a checksum of
the rows) and file by file (sha256). PostgreSQL only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection
from psycopg2 import sql

from tests.ops.conftest import REQUIRED, connect, database_url, server_major_version
from tests.support import ROOT

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="backups use pg_dump"),
]

# Media as uploads leave it: nested folders, binary content, an empty file, unicode names.
MEDIA = {
    "attachments/3f2a9c.pdf": os.urandom(200_000),
    "attachments/b71e04.zip": os.urandom(4_096),
    "attachments/empty.txt": b"",
    "exports/cohort-7 scores ünïcode.csv": b"learner,score\nAda,87.5\n",
}


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``make`` in the project folder, with ``env`` on top of ours."""
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def tools_match_the_server() -> None:
    """pg_dump must be at least the server's major version (skip, or fail in CI)."""
    pg_dump = shutil.which(os.environ.get("PG_DUMP", "pg_dump"))
    server = server_major_version()
    message = ""
    if pg_dump is None or shutil.which(os.environ.get("PG_RESTORE", "pg_restore")) is None:
        message = "pg_dump and pg_restore are not installed (apt-get install postgresql-client)"
    else:
        version = subprocess.run([pg_dump, "--version"], capture_output=True, text=True).stdout
        client = int(re.search(r"\)\s*(\d+)", version).group(1))  # type: ignore[union-attr]
        if client < server:
            message = (
                f"pg_dump {client} cannot dump a PostgreSQL {server} server: install "
                f"postgresql-client-{server} or set PG_DUMP/PG_RESTORE to its binaries"
            )
    if message:
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)


def snapshot(name: str) -> dict[str, tuple[int, str]]:
    """Every public table of database ``name``: (row count, md5 of its rows in a fixed order)."""
    db = connect(name)
    tables: dict[str, tuple[int, str]] = {}
    try:
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
            for (table,) in cursor.fetchall():
                cursor.execute(
                    sql.SQL(
                        "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text),"
                        " '')) FROM {} AS t"
                    ).format(sql.Identifier(table))
                )
                count, digest = cursor.fetchone()
                tables[table] = (count, digest)
    finally:
        db.close()
    return tables


def media_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_it_backs_up_and_restores_every_row_and_file(
    clone_seeded: Callable[[str], str],
    empty_database: Callable[[str], str],
    tmp_path: Path,
) -> None:
    tools_match_the_server()
    source = clone_seeded("src")
    media = tmp_path / "media"
    for name, content in MEDIA.items():
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(content)
    backups = tmp_path / "backups"

    result = make(
        "backup",
        env={
            "DATABASE_URL": database_url(source),
            "MEDIA_ROOT": str(media),
            "BACKUP_DIR": str(backups),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr

    (folder,) = backups.iterdir()  # one complete backup, no partial folder left behind
    assert re.fullmatch(r"\d{8}T\d{6}Z", folder.name)
    assert sorted(path.name for path in folder.iterdir()) == [
        "db.dump",
        "manifest.json",
        "media.tar.gz",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    original = snapshot(source)
    assert manifest["database"]["tables"] == {
        f"public.{table}": count for table, (count, _) in original.items()
    }
    assert (
        manifest["database"]["sha256"]
        == hashlib.sha256((folder / "db.dump").read_bytes()).hexdigest()
    )
    assert {name: entry["sha256"] for name, entry in manifest["media"]["files"].items()} == (
        media_hashes(media)
    )
    assert original["core_attempt"][0] > 0, "the seeded database has attempts to back up"

    target = empty_database("restored")
    restored_media = tmp_path / "restored-media"
    restore_env = {"DATABASE_URL": database_url(target), "MEDIA_ROOT": str(restored_media)}
    result = make("restore", f"FILE={folder}", env=restore_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "match the manifest" in result.stdout

    assert snapshot(target) == original
    assert media_hashes(restored_media) == media_hashes(media)


def test_it_refuses_to_restore_over_data_unless_forced(
    clone_seeded: Callable[[str], str], tmp_path: Path
) -> None:
    tools_match_the_server()
    source = clone_seeded("src")
    media = tmp_path / "media"
    (media / "attachments").mkdir(parents=True)
    (media / "attachments/kept.pdf").write_bytes(b"%PDF-1.7 original")
    env = {
        "DATABASE_URL": database_url(source),
        "MEDIA_ROOT": str(media),
        "BACKUP_DIR": str(tmp_path / "b"),
    }
    assert make("backup", env=env).returncode == 0
    (folder,) = (tmp_path / "b").iterdir()
    before = snapshot(source)

    refused = make("restore", f"FILE={folder}", env=env)
    assert refused.returncode != 0
    assert "Refusing to restore over existing data" in refused.stderr
    assert "FORCE=1" in refused.stderr
    assert snapshot(source) == before

    (media / "attachments/kept.pdf").write_bytes(b"changed after the backup")
    forced = make("restore", f"FILE={folder}", "FORCE=1", env=env)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert snapshot(source) == before
    assert (media / "attachments/kept.pdf").read_bytes() == b"%PDF-1.7 original"


def test_it_refuses_a_damaged_backup_before_touching_the_database(
    clone_seeded: Callable[[str], str],
    empty_database: Callable[[str], str],
    tmp_path: Path,
) -> None:
    tools_match_the_server()
    source = clone_seeded("src")
    env = {
        "DATABASE_URL": database_url(source),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "BACKUP_DIR": str(tmp_path / "b"),
    }
    assert make("backup", env=env).returncode == 0
    (folder,) = (tmp_path / "b").iterdir()
    dump = folder / "db.dump"
    damaged = bytearray(dump.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    dump.write_bytes(bytes(damaged))

    target = empty_database("restored")
    env = {"DATABASE_URL": database_url(target), "MEDIA_ROOT": str(tmp_path / "restored-media")}
    result = make("restore", f"FILE={folder}", env=env)
    assert result.returncode != 0
    assert "does not match its sha256" in result.stderr
    assert snapshot(target) == {}
