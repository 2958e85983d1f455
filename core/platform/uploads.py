"""Attachment checks: size, count, and kind by extension *and* by content.

Nothing is trusted from the browser: not the name's extension alone, not the
content type it sends. Each file's first bytes must match its extension, text
must be UTF-8, and zip archives are inspected (never extracted to disk) for
bombs, archives inside them, path tricks, symlinks and encryption. Every refusal is a
``ValidationError`` whose message names the file and says what is wrong.
"""

from __future__ import annotations

import codecs
import re
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, QueryDict
from django.http.multipartparser import (  # type: ignore[attr-defined]  # missing from the stubs
    MAX_TOTAL_HEADER_SIZE,
    MultiPartParser,
)
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_header_parameters

MB = 1024 * 1024
# Streamed reads (text decoding, zip verification) never hold more than this at once.
CHUNK_BYTES = 64 * 1024
# Longest name we keep; the Attachment model stores up to 200 characters.
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class Kind:
    """An allowed kind of attachment: its label and the content type we serve it with."""

    label: str
    content_type: str
    magic: bytes = b""  # the bytes its content starts with ("" for text)


ZIP = Kind("zip archive", "application/zip", b"PK\x03\x04")
PDF = Kind("PDF", "application/pdf", b"%PDF-")
PNG = Kind("PNG image", "image/png", b"\x89PNG\r\n\x1a\n")
JPEG = Kind("JPEG image", "image/jpeg", b"\xff\xd8\xff")
TEXT = Kind("text file", "text/plain")
MARKDOWN = Kind("Markdown file", "text/markdown")

KINDS_BY_EXTENSION: dict[str, Kind] = {
    ".zip": ZIP,
    ".pdf": PDF,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".txt": TEXT,
    ".md": MARKDOWN,
}
ALLOWED_EXTENSIONS = tuple(KINDS_BY_EXTENSION)
# The only content types the download view ever sends; anything else is octet-stream.
ALLOWED_CONTENT_TYPES = frozenset(kind.content_type for kind in KINDS_BY_EXTENSION.values())

# What a mismatched file looks like, to say more than "not a PDF" when we can.
_LOOKS_LIKE = [
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (ZIP.magic, "a zip archive"),
    (PDF.magic, "a PDF"),
    (PNG.magic, "a PNG image"),
    (JPEG.magic, "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
]


# Archives and compressed files inside a zip are refused: each level can multiply the
# unpacked size (a 32 KB zip of sixteen 1 GB bombs is 16 GB at the second level), and
# our limits only see the first. Known by name, or by what their content starts with.
NESTED_ARCHIVE_EXTENSIONS = frozenset(
    {".zip", ".jar", ".war", ".whl", ".egg", ".tar", ".gz", ".tgz", ".bz2", ".tbz2", ".xz"}
    | {".txz", ".lzma", ".zst", ".7z", ".rar"}
)
NESTED_ARCHIVE_MAGIC = (
    b"PK\x03\x04",  # zip (and jar, whl, docx…)
    b"PK\x05\x06",  # an empty zip
    b"PK\x07\x08",  # a spanned zip
    b"\x1f\x8b",  # gzip
    b"\xfd7zXZ\x00",  # xz
    b"\x28\xb5\x2f\xfd",  # zstd
    b"7z\xbc\xaf\x27\x1c",  # 7-Zip
    b"Rar!\x1a\x07",  # RAR
)
_BZIP2 = re.compile(rb"BZh[1-9]1AY&SY")  # the header, then the first block's magic
TAR_MAGIC_OFFSET = 257  # "ustar" sits after the first header's name, mode, owner… fields
TAR_MAGIC = b"ustar"


def _is_archive(head: bytes) -> bool:
    """Whether content starting with ``head`` is an archive or a compressed file."""
    return (
        head.startswith(NESTED_ARCHIVE_MAGIC)
        or _BZIP2.match(head) is not None
        or head[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + len(TAR_MAGIC)] == TAR_MAGIC
    )


def _nested_archive(entry: str) -> str:
    return (
        f"it holds another archive or compressed file ({entry}). Put the files themselves "
        "in one zip archive"
    )


def allowed_kinds_text() -> str:
    """'.zip, .pdf, .png, .jpg, .txt or .md' for help texts and error messages."""
    shown = [ext for ext in ALLOWED_EXTENSIONS if ext != ".jpeg"]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def clean_name(name: str) -> str:
    """The file's base name without control characters (it ends up in a header)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(char for char in base if char.isprintable()).strip()
    if len(printable) > MAX_NAME_CHARS:
        suffix = PurePosixPath(printable).suffix[:16]
        printable = printable[: MAX_NAME_CHARS - len(suffix)] + suffix
    return printable or "attachment"


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"


def _head(upload: UploadedFile[bytes], length: int = 16) -> bytes:
    upload.seek(0)
    head: bytes = upload.read(length)
    upload.seek(0)
    return head


def _looks_like(head: bytes) -> str:
    for magic, label in _LOOKS_LIKE:
        if head.startswith(magic):
            return label
    return ""


def _check_text(upload: UploadedFile[bytes], name: str, kind: Kind) -> None:
    """UTF-8 text with no NUL bytes, read in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding_error = ValidationError(
        f"“{name}” is not a {kind.label}: save it as UTF-8 text and try again.",
        code="encoding",
    )
    if _head(upload, 2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise encoding_error  # UTF-16 text: full of NUL bytes, but not binary
    try:
        for chunk in upload.chunks(CHUNK_BYTES):
            if b"\x00" in chunk:
                raise ValidationError(
                    f"“{name}” is not a {kind.label}: it contains binary data.", code="binary"
                )
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise encoding_error from None
    finally:
        upload.seek(0)


def _unsafe_entry_problem(info: zipfile.ZipInfo) -> str:
    """Why an entry must not be in an archive we hand to mentors, or ''."""
    entry = info.filename
    parts = entry.replace("\\", "/").split("/")
    if entry.startswith(("/", "\\")) or (len(entry) > 1 and entry[1] == ":"):
        return f"it contains an absolute path ({entry})"
    if ".." in parts:
        return f"it contains a path that climbs out of its folder ({entry})"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"it contains a symbolic link ({entry})"
    if info.flag_bits & 0x1:
        return f"it contains an encrypted file ({entry}); upload an archive without a password"
    if PurePosixPath(entry).suffix.lower() in NESTED_ARCHIVE_EXTENSIONS:
        return _nested_archive(entry)
    return ""


def _check_zip(upload: UploadedFile[bytes], name: str) -> None:
    """Entry count, declared and actual unpacked size, paths, links and encryption."""
    max_entries = settings.MAX_ZIP_ENTRIES
    max_bytes = settings.MAX_ZIP_UNCOMPRESSED_MB * MB
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            entries = archive.infolist()
            if len(entries) > max_entries:
                raise ValidationError(
                    f"“{name}” holds {len(entries)} files; a zip archive may hold at most "
                    f"{max_entries}.",
                    code="zip_entries",
                )
            for info in entries:
                problem = _unsafe_entry_problem(info)
                if problem:
                    raise ValidationError(f"“{name}” was refused: {problem}.", code="zip_entry")
            declared = sum(info.file_size for info in entries)
            if declared > max_bytes:
                raise ValidationError(
                    f"“{name}” unpacks to {_megabytes(declared)}; a zip archive may unpack to "
                    f"at most {settings.MAX_ZIP_UNCOMPRESSED_MB} MB.",
                    code="zip_too_big",
                )
            # Declared sizes can lie: decompress in memory (never to disk) with a
            # budget, which also checks every entry's CRC.
            unpacked = 0
            for info in entries:
                if info.is_dir():
                    continue
                with archive.open(info) as member:
                    first = True
                    while chunk := member.read(CHUNK_BYTES):
                        if first and _is_archive(chunk):
                            raise ValidationError(
                                f"“{name}” was refused: {_nested_archive(info.filename)}.",
                                code="zip_nested",
                            )
                        first = False
                        unpacked += len(chunk)
                        if unpacked > max_bytes:
                            raise ValidationError(
                                f"“{name}” unpacks to more than "
                                f"{settings.MAX_ZIP_UNCOMPRESSED_MB} MB, the limit for a zip "
                                "archive.",
                                code="zip_too_big",
                            )
    except ValidationError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        # NotImplementedError: a compression method Python cannot read (so neither
        # could most mentors' tools); the rest: a damaged or truncated archive.
        raise ValidationError(
            f"“{name}” is not a valid zip archive (it is damaged or uses an unusual format).",
            code="zip_invalid",
        ) from None
    finally:
        upload.seek(0)


def validate_attachment(upload: UploadedFile[bytes]) -> Kind:
    """Check one file; returns its kind or raises a ValidationError naming the file."""
    name = clean_name(upload.name or "")
    extension = PurePosixPath(name).suffix.lower()
    kind = KINDS_BY_EXTENSION.get(extension)
    if kind is None:
        shown = f"{extension} files are" if extension else "Files without an extension are"
        raise ValidationError(
            f"“{name}” was refused: {shown} not accepted. Upload {allowed_kinds_text()} files.",
            code="extension",
        )
    max_mb = settings.MAX_UPLOAD_MB
    size = upload.size
    assert size is not None  # every upload has one (Django's handlers set it)
    if size > max_mb * MB:
        raise ValidationError(
            f"“{name}” is {_megabytes(size)}; each file may be at most {max_mb} MB.",
            code="too_big",
        )
    if size == 0:
        raise ValidationError(f"“{name}” is empty.", code="empty")
    if kind.magic:
        head = _head(upload)
        if not head.startswith(kind.magic):
            actual = _looks_like(head)
            detail = f": it looks like {actual}" if actual else ""
            raise ValidationError(
                f"“{name}” does not look like a {kind.label}{detail}. "
                f"Check that its {extension} extension matches its content.",
                code="content",
            )
        if kind is ZIP:
            _check_zip(upload, name)
    else:
        _check_text(upload, name, kind)
    return kind


def validate_attachments(uploads: Sequence[UploadedFile[bytes]]) -> list[Kind]:
    """Check every file of one iteration; all problems are reported at once."""
    max_files = settings.MAX_ATTACHMENTS
    if len(uploads) > max_files:
        raise ValidationError(
            f"You attached {len(uploads)} files; an iteration may have at most {max_files}.",
            code="too_many",
        )
    kinds, errors = [], []
    for upload in uploads:
        try:
            kinds.append(validate_attachment(upload))
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)
    return kinds


# --- File parts Django cannot read ----------------------------------------------------------

# Where the names of unreadable file parts are kept on the request (see unreadable_uploads).
UNREADABLE_UPLOADS = "unreadable_uploads"
_FILENAME = re.compile(rb'filename\*?="?([^";\r\n]*)', re.IGNORECASE)


class PartHeaderCheck:
    """A multipart body passed through unchanged, noting file parts Django will drop.

    Django skips a part header it cannot decode as UTF-8 (or whose RFC 2231 charset is
    unknown), so a file whose name is not UTF-8 vanished from ``request.FILES`` and the
    form was accepted without it. This reads the same bytes Django reads and keeps the
    names of those files, as well as they can be read.
    """

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self._stream = stream
        self._delimiter = b"--" + boundary
        self._carry = b""
        self.unreadable: list[str] = []

    def read(self, size: int = -1) -> bytes:
        chunk = self._stream.read(size)
        self._scan(chunk)
        return chunk

    def _scan(self, chunk: bytes) -> None:
        data = self._carry + chunk
        start = 0
        while (at := data.find(self._delimiter, start)) != -1:
            end = data.find(b"\r\n\r\n", at)
            if end == -1:  # the headers go on in the next chunk
                # Bounded: Django refuses part headers longer than this anyway.
                self._carry = data[at:] if len(data) - at <= 2 * MAX_TOTAL_HEADER_SIZE else b""
                return
            self._check(data[at:end])
            start = end
        # Keep a tail that may hold the start of the next delimiter.
        self._carry = data[max(start, len(data) - len(self._delimiter) + 1) :]

    def _check(self, headers: bytes) -> None:
        for line in headers.split(b"\r\n")[1:]:
            if not line.lower().startswith(b"content-disposition:"):
                continue
            match = _FILENAME.search(line)
            if match is None:
                continue
            try:
                parse_header_parameters(line.decode().split(":", 1)[1].lstrip(" "))
            except (ValueError, LookupError):  # what Django's parser skips the part for
                self.unreadable.append(clean_name(match.group(1).decode("utf-8", "replace")))


class UnreadablePartsHandler(FileUploadHandler):
    """The first upload handler: parses multipart bodies through PartHeaderCheck.

    It lets Django's own parser do the work, with the other handlers, and keeps what the
    check found on the request for ``unreadable_uploads``.
    """

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, Any],
        content_length: int,
        boundary: bytes,  # type: ignore[override]  # the stubs say str; Django passes bytes
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict[str, UploadedFile[bytes]]]:
        check = PartHeaderCheck(input_data, boundary)
        request = self.request
        assert request is not None  # Django builds upload handlers with their request
        others = [handler for handler in request.upload_handlers if handler is not self]
        post, files = MultiPartParser(
            META,
            check,  # type: ignore[arg-type]  # the stubs want a file; Django only calls read()
            others,
            encoding,
        ).parse()
        setattr(request, UNREADABLE_UPLOADS, check.unreadable)
        return post, files

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        return raw_data  # never called: handle_raw_input hands the files to the others

    def file_complete(self, file_size: int) -> None:
        return None


def unreadable_uploads(request: HttpRequest) -> list[str]:
    """Names of the files the request sent that Django could not read (parse it first)."""
    return list(getattr(request, UNREADABLE_UPLOADS, []))


def unreadable_upload_errors(names: Sequence[str]) -> list[ValidationError]:
    """One error per unreadable file, naming it as well as it can be read."""
    return [
        ValidationError(
            f"“{name}” was refused: its name is not valid UTF-8. Rename the file and attach "
            "it again.",
            code="name_encoding",
        )
        for name in names
    ]
