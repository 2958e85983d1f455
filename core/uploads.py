"""Attachment checks: size, count, and kind by extension *and* by content.

Nothing is trusted from the browser: not the name's extension alone, not the
content type it sends. Each file's first bytes must match its extension, text
must be UTF-8, and zip archives are inspected (never extracted to disk) for
bombs, path tricks, symlinks and encryption. Every refusal is a
``ValidationError`` whose message names the file and says what is wrong.
"""

from __future__ import annotations

import codecs
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

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


def _head(upload: UploadedFile, length: int = 16) -> bytes:
    upload.seek(0)
    head = upload.read(length)
    upload.seek(0)
    return head


def _looks_like(head: bytes) -> str:
    for magic, label in _LOOKS_LIKE:
        if head.startswith(magic):
            return label
    return ""


def _check_text(upload: UploadedFile, name: str, kind: Kind) -> None:
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
    return ""


def _check_zip(upload: UploadedFile, name: str) -> None:
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
                    while chunk := member.read(CHUNK_BYTES):
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


def validate_attachment(upload: UploadedFile) -> Kind:
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
    if upload.size > max_mb * MB:
        raise ValidationError(
            f"“{name}” is {_megabytes(upload.size)}; each file may be at most {max_mb} MB.",
            code="too_big",
        )
    if upload.size == 0:
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


def validate_attachments(uploads: Sequence[UploadedFile]) -> list[Kind]:
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
