"""Attachment checks (core/platform/uploads.py): every hostile file is refused with a clear message.

The builders at the top make real files in memory; tests/reviews/test_submit.py
uses them too, to send the same files through the submit page.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import stat
import struct
import tarfile
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django.fixtures import Settings

from core.platform.uploads import (
    MB,
    PartHeaderCheck,
    clean_name,
    validate_attachment,
    validate_attachments,
)

PDF_BYTES = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"PE\x00\x00"


def upload(
    name: str, content: bytes, content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def zip_bytes(entries: dict[str, bytes] | None = None) -> bytes:
    """A well-formed zip archive holding ``entries`` (name → content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in (entries or {"README.md": b"# My project\n"}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


@functools.cache
def zip_bomb_bytes(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, deflated to a few dozen kilobytes."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w") as member,
    ):
        for _ in range(megabytes):
            member.write(b"\x00" * MB)
    return buffer.getvalue()


def zip_with_symlink_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("config.py")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def _patch_headers(data: bytes, local_offset: int, central_offset: int, value: bytes) -> bytes:
    """Overwrite one field of every local and central header (zipfile cannot write lies)."""
    patched = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = patched.find(signature)
        while start != -1:
            patched[start + offset : start + offset + len(value)] = value
            start = patched.find(signature, start + 4)
    return bytes(patched)


def zip_encrypted_bytes() -> bytes:
    """An entry flagged as encrypted (general purpose bit 0)."""
    return _patch_headers(zip_bytes({"secret.txt": b"hunter2"}), 6, 8, struct.pack("<H", 1))


def zip_lying_bytes(megabytes: int) -> bytes:
    """A bomb whose headers claim each entry unpacks to one byte."""
    return _patch_headers(zip_bomb_bytes(megabytes), 22, 24, struct.pack("<I", 1))


def refusal(file: SimpleUploadedFile) -> str:
    with pytest.raises(ValidationError) as caught:
        validate_attachment(file)
    return " ".join(caught.value.messages)


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("project.zip", zip_bytes(), "application/zip"),
        ("report.pdf", PDF_BYTES, "application/pdf"),
        ("screenshot.png", PNG_BYTES, "image/png"),
        ("photo.jpg", JPEG_BYTES, "image/jpeg"),
        ("photo.JPEG", JPEG_BYTES, "image/jpeg"),
        ("notes.md", "# Notes\n\nÇa marche — très bien.\n".encode(), "text/markdown"),
        ("output.txt", b"OK\n", "text/plain"),
    ],
)
def test_it_accepts_each_allowed_kind(name: str, content: bytes, content_type: str) -> None:
    kind = validate_attachment(upload(name, content, content_type="text/html"))
    # The content type comes from what we found, never from what the browser said.
    assert kind.content_type == content_type


def test_it_refuses_an_exe_renamed_pdf() -> None:
    message = refusal(upload("report.pdf", EXE_BYTES, "application/pdf"))
    assert "“report.pdf” does not look like a PDF" in message
    assert "Windows program" in message


def test_it_refuses_a_png_that_is_a_pdf() -> None:
    assert "does not look like a PNG image: it looks like a PDF" in refusal(
        upload("cat.png", PDF_BYTES)
    )


def test_it_refuses_an_exe_by_its_extension() -> None:
    message = refusal(upload("setup.exe", EXE_BYTES))
    assert "“setup.exe” was refused: .exe files are not accepted" in message
    assert ".zip, .pdf, .png, .jpg, .txt or .md" in message


def test_it_refuses_a_file_without_extension() -> None:
    assert "Files without an extension are not accepted" in refusal(upload("Makefile", b"all:\n"))


def test_it_refuses_an_oversized_file(settings: Settings) -> None:
    settings.MAX_UPLOAD_MB = 1
    message = refusal(upload("big.txt", b"a" * (MB + 1)))
    assert message == "“big.txt” is 1.0 MB; each file may be at most 1 MB."


def test_it_refuses_an_empty_file() -> None:
    assert refusal(upload("empty.md", b"")) == "“empty.md” is empty."


def test_it_refuses_binary_text() -> None:
    assert "“notes.txt” is not a text file: it contains binary data" in refusal(
        upload("notes.txt", b"hello\x00world")
    )


def test_it_refuses_text_that_is_not_utf8() -> None:
    assert "save it as UTF-8" in refusal(upload("notes.md", "café".encode("latin-1")))


def test_it_refuses_utf16_text_with_the_right_advice() -> None:
    message = refusal(upload("notes.txt", "hello".encode("utf-16")))
    assert message == "“notes.txt” is not a text file: save it as UTF-8 text and try again."


def test_it_refuses_a_zip_bomb() -> None:
    # 60 MB of zeros (about 60 KB compressed) against the default 50 MB limit.
    message = refusal(upload("bomb.zip", zip_bomb_bytes(60)))
    assert message == ("“bomb.zip” unpacks to 60.0 MB; a zip archive may unpack to at most 50 MB.")


def test_it_refuses_a_zip_that_lies_about_its_size(settings: Settings) -> None:
    settings.MAX_ZIP_UNCOMPRESSED_MB = 1
    # The headers claim 1 byte: reading it for real finds the lie (size or CRC).
    message = refusal(upload("liar.zip", zip_lying_bytes(2)))
    assert message.startswith("“liar.zip” is not a valid zip archive")


def test_it_refuses_a_zip_with_a_parent_directory_entry() -> None:
    message = refusal(upload("project.zip", zip_bytes({"../evil.py": b"import os\n"})))
    assert message == (
        "“project.zip” was refused: it contains a path that climbs out of its folder (../evil.py)."
    )


def test_it_refuses_a_zip_with_a_nested_parent_directory_entry() -> None:
    message = refusal(upload("project.zip", zip_bytes({"src/../../evil.py": b"x"})))
    assert "climbs out of its folder" in message


def test_it_refuses_a_zip_with_an_absolute_path() -> None:
    message = refusal(upload("project.zip", zip_bytes({"/etc/cron.d/evil": b"x"})))
    assert message == "“project.zip” was refused: it contains an absolute path (/etc/cron.d/evil)."


def test_it_refuses_a_zip_with_a_windows_drive_path() -> None:
    assert "absolute path" in refusal(upload("p.zip", zip_bytes({"C:/Windows/evil.dll": b"x"})))


def test_it_refuses_a_zip_with_a_symlink() -> None:
    message = refusal(upload("project.zip", zip_with_symlink_bytes()))
    assert message == "“project.zip” was refused: it contains a symbolic link (config.py)."


def test_it_refuses_an_encrypted_zip() -> None:
    message = refusal(upload("project.zip", zip_encrypted_bytes()))
    assert "it contains an encrypted file (secret.txt)" in message


def test_it_refuses_a_zip_with_too_many_entries(settings: Settings) -> None:
    settings.MAX_ZIP_ENTRIES = 3
    entries = {f"file{n}.py": b"x" for n in range(4)}
    message = refusal(upload("project.zip", zip_bytes(entries)))
    assert message == "“project.zip” holds 4 files; a zip archive may hold at most 3."


def test_it_refuses_a_zip_of_zips() -> None:
    # A 32 KB zip of sixteen 1 GB bombs unpacks to 16 GB at the second level; the
    # first level is small, so only refusing archives inside archives stops it.
    inner = {f"part{n}.zip": zip_bomb_bytes(1) for n in range(16)}
    message = refusal(upload("project.zip", zip_bytes(inner)))
    assert message == (
        "“project.zip” was refused: it holds another archive or compressed file "
        "(part0.zip). Put the files themselves in one zip archive."
    )


@pytest.mark.parametrize(
    "name",
    [
        "lib.zip",
        "app.jar",
        "pkg.whl",
        "src.tar",
        "log.gz",
        "src.tgz",
        "a.bz2",
        "a.xz",
        "a.7z",
        "a.rar",
    ],
)
def test_it_refuses_an_archive_inside_a_zip_by_its_name(name: str) -> None:
    message = refusal(upload("project.zip", zip_bytes({f"vendor/{name}": b"not really"})))
    assert f"it holds another archive or compressed file (vendor/{name})" in message


def _tar_bytes() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"hi\n"))
    return buffer.getvalue()


# What archives and compressed files start with, whatever their names.
ARCHIVE_CONTENT = {
    "zip": zip_bytes(),
    "gzip": gzip.compress(b"x" * 100),
    "bzip2": bz2.compress(b"x" * 100),
    "xz": lzma.compress(b"x" * 100),
    "tar": _tar_bytes(),
    "7-Zip": b"7z\xbc\xaf\x27\x1c" + b"\x00" * 26,
    "RAR": b"Rar!\x1a\x07\x01\x00" + b"\x00" * 24,
    "zstd": b"\x28\xb5\x2f\xfd" + b"\x00" * 28,
}


@pytest.mark.parametrize("kind", ARCHIVE_CONTENT)
def test_it_refuses_an_archive_inside_a_zip_by_its_content(kind: str) -> None:
    entries = {"data/readings.csv": ARCHIVE_CONTENT[kind]}
    message = refusal(upload("project.zip", zip_bytes(entries)))
    assert "it holds another archive or compressed file (data/readings.csv)" in message


def test_it_accepts_text_that_merely_starts_like_an_archive_header() -> None:
    entries = {"notes.md": b"BZh is how bzip2 files start\n", "PKG.txt": b"PK: primary key\n"}
    assert validate_attachment(upload("project.zip", zip_bytes(entries))).label == "zip archive"


def test_it_refuses_a_damaged_zip() -> None:
    damaged = zip_bytes()[:-30]  # the central directory is cut off
    assert "“project.zip” is not a valid zip archive" in refusal(upload("project.zip", damaged))


def test_it_refuses_a_zip_header_with_nothing_behind_it() -> None:
    assert "not a valid zip archive" in refusal(upload("p.zip", b"PK\x03\x04garbage"))


def test_it_refuses_too_many_files() -> None:
    files = [upload(f"notes{n}.md", b"# hi\n") for n in range(6)]
    with pytest.raises(ValidationError) as caught:
        validate_attachments(files)
    assert caught.value.messages == ["You attached 6 files; an iteration may have at most 5."]


def test_it_reports_every_bad_file_at_once() -> None:
    files = [upload("a.pdf", EXE_BYTES), upload("b.md", b"fine\n"), upload("c.exe", b"MZ")]
    with pytest.raises(ValidationError) as caught:
        validate_attachments(files)
    assert len(caught.value.messages) == 2
    assert "“a.pdf”" in caught.value.messages[0]
    assert "“c.exe”" in caught.value.messages[1]


def test_it_leaves_the_file_ready_to_be_stored() -> None:
    file = upload("project.zip", zip_bytes())
    validate_attachment(file)
    assert file.tell() == 0


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\alice\\report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ('evil"\r\nX-Header: 1.txt', 'evil"X-Header: 1.txt'),
        ("\x00\x01", "attachment"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_clean_name_keeps_a_safe_base_name(name: str, cleaned: str) -> None:
    assert clean_name(name) == cleaned


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_the_part_header_check_finds_unreadable_names_across_chunks(chunk: int) -> None:
    body = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="notes"\r\n\r\n'
        b"--b0und is not the delimiter\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="attachments"; filename="ok.md"\r\n\r\n'
        b"# fine\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="attachments"; filename="r\xe9sum\xe9.md"\r\n'
        b"Content-Type: text/markdown\r\n\r\n"
        b"# lost\r\n"
        b"--b0undary\r\n"
        b"Content-Disposition: form-data; name=\"attachments\"; filename*=x-nope''a.md\r\n\r\n"
        b"# lost too\r\n"
        b"--b0undary--\r\n"
    )
    check = PartHeaderCheck(io.BytesIO(body), b"b0undary")
    read = b"".join(iter(lambda: check.read(chunk), b""))
    assert read == body  # passed through unchanged
    assert check.unreadable == ["r\ufffdsum\ufffd.md", "x-nope''a.md"]
