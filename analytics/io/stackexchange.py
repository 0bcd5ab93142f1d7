"""Reading a Stack Exchange data dump (an extracted folder of XML files, or the site's ``.7z``
archive) as contract tables.

A dump folder holds ``Users.xml``, ``Posts.xml``, ``Badges.xml`` and, in full dumps,
``Comments.xml``, each one ``<row .../>`` element per record. They become:

- ``members``: one row per account (``Id``, ``CreationDate``, ``LastAccessDate``). Nothing
  else: reputation, views and votes are only known at dump time, so they must not pose as
  attributes a member had when signing up. The site's bot account (``Id`` <= 0) is left out.
- ``activity``: questions and answers from ``Posts.xml`` and comments from ``Comments.xml``.
- ``proof_items`` / ``exposures``: every distinct badge is a proof item of kind ``badge``,
  every award an ``earned`` exposure.

Rows that cannot belong to a member (no owner, the bot, an account missing from Users.xml) are
counted in :attr:`StackExchangeImport.skipped` and left out; a malformed file or row raises
:class:`DataSourceError` naming the file and line.

A ``.7z`` archive (as Stack Exchange publishes it) is extracted with ``py7zr`` into a temporary
folder, only the four files above, and read like a folder; the temporary folder is removed
afterwards. An archive must hold Users.xml, Posts.xml and Badges.xml.

The XML is streamed with ``defusedxml`` (no entity declarations, no external references, no
DTD) through a target that builds no element tree, so memory stays flat however large the file;
values are collected in plain lists and turned into typed polars frames in batches.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import polars as pl
from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser, ParseError, iterparse

from analytics.errors import DataSourceError, InputError

Progress = Callable[[str, float], None]

#: Rows collected in Python lists before they become one typed polars frame.
BATCH_ROWS = 100_000
#: How often (in rows) progress is reported while a file is read.
PROGRESS_ROWS = 20_000

UTC = pl.Datetime("us", "UTC")
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%.f"
DATE_EXAMPLE = "2011-04-26T18:12:39.000"

#: Post types kept as activity; the others (tag wikis, nominations, ...) are counted, left out.
POST_KINDS = {1: "question", 2: "answer"}

USERS, POSTS, COMMENTS, BADGES = "Users.xml", "Posts.xml", "Comments.xml", "Badges.xml"

#: Why each kind of skipped row was left out (keys of ``StackExchangeImport.skipped``).
SKIP_REASONS: dict[str, str] = {
    "bot account in Users.xml": "Id <= 0 is the site's Community bot, not a member",
    "other post types": "tag wikis, nominations, ...: PostTypeId not 1 (question) or 2 (answer)",
    "posts without owner": "no OwnerUserId, usually a deleted account",
    "posts of the bot account": "OwnerUserId <= 0",
    "posts of unknown accounts": "OwnerUserId not in Users.xml",
    "comments without author": "no UserId, usually a deleted account",
    "comments of the bot account": "UserId <= 0",
    "comments of unknown accounts": "UserId not in Users.xml",
    "badges without owner": "no UserId",
    "badges of the bot account": "UserId <= 0",
    "badges of unknown accounts": "UserId not in Users.xml",
}

ValueKind = Literal["int", "date", "text", "bool"]


def _noop(_step: str, _fraction: float) -> None:
    return None


@dataclass(frozen=True)
class StackExchangeImport:
    """Contract tables read from a dump, with what was left out and why."""

    #: ``members``, ``activity``, ``proof_items`` and ``exposures`` (no milestones).
    tables: dict[str, pl.DataFrame]
    #: Rows counted and left out, by reason (see :data:`SKIP_REASONS`).
    skipped: dict[str, int]
    #: Other things worth knowing, e.g. an optional file that was not there.
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """Plain-text lines: rows per table, what was skipped and why."""
        lines = ["Tables:"]
        for name, frame in self.tables.items():
            detail = ""
            if name == "activity" and frame.height:
                counts = frame.group_by("kind").len().sort("kind")
                detail = ": " + ", ".join(f"{n:,} {kind}s" for kind, n in counts.iter_rows())
            lines.append(f"  {name}: {frame.height:,} rows{detail}")
        skipped = {k: n for k, n in self.skipped.items() if n}
        if skipped:
            lines.append("Skipped (counted and left out):")
            for key, n in skipped.items():
                reason = SKIP_REASONS.get(key)
                lines.append(f"  {n:,} {key}" + (f" ({reason})" if reason else ""))
        else:
            lines.append("Nothing skipped.")
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)


# --- streaming the XML ---------------------------------------------------------------------

#: The dumps declare an external DTD (``<!DOCTYPE users SYSTEM 'users.dtd'>``) that is never
#: shipped. Only this exact form, with no internal subset, is accepted and blanked out.
_EXTERNAL_DOCTYPE = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>)?\s*"
    rb"(<!DOCTYPE\s+[A-Za-z_][\w.-]*\s+SYSTEM\s+(?:'[^'<>\[\]]*'|\"[^\"<>\[\]]*\")\s*>)"
)


class _DumpReader:
    """A binary file that blanks the dump's external DOCTYPE with spaces.

    With the declaration gone the parser can refuse every DTD (``forbid_dtd``) and, as the
    document then declares no external subset, reports an undefined entity such as ``&nbsp;``
    as an error where expat would otherwise drop it from the attribute value without a word.
    Spaces of the same length keep every line and column where it was.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._first = True
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self._first:
            self._first = False
            match = _EXTERNAL_DOCTYPE.match(data)
            if match:
                start, end = match.span(1)
                blank = re.sub(rb"[^\r\n]", b" ", data[start:end])
                data = data[:start] + blank + data[end:]
        self.bytes_read += len(data)
        return data


class _RowTarget:
    """Parser target that builds no tree: each start tag becomes ``(tag, line, values)``.

    ``values`` are the wanted attributes in order (``None`` when absent). Nothing is kept after
    the event is consumed, so there are no elements to clear and memory stays flat.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.expat: Any = None

    def start(self, tag: str, attrib: dict[str, str]) -> tuple[str, int, list[str | None]]:
        get = attrib.get
        return tag, self.expat.CurrentLineNumber, [get(name) for name in self.names]

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class _Attr:
    name: str
    kind: ValueKind
    required: bool


@dataclass(frozen=True)
class _FileSpec:
    file_name: str
    root: str
    attrs: tuple[_Attr, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attrs)


_USERS = _FileSpec(
    USERS,
    "users",
    (
        _Attr("Id", "int", True),
        _Attr("CreationDate", "date", True),
        _Attr("LastAccessDate", "date", False),
    ),
)
_POSTS = _FileSpec(
    POSTS,
    "posts",
    (
        _Attr("Id", "int", True),
        _Attr("PostTypeId", "int", True),
        _Attr("OwnerUserId", "int", False),
        _Attr("CreationDate", "date", True),
    ),
)
_COMMENTS = _FileSpec(
    COMMENTS,
    "comments",
    (
        _Attr("Id", "int", True),
        _Attr("UserId", "int", False),
        _Attr("CreationDate", "date", True),
    ),
)
_BADGES = _FileSpec(
    BADGES,
    "badges",
    (
        _Attr("Id", "int", True),
        _Attr("UserId", "int", False),
        _Attr("Name", "text", True),
        _Attr("Date", "date", True),
        _Attr("TagBased", "bool", False),
    ),
)

_DTYPES: dict[ValueKind, pl.DataType] = {
    "int": pl.Int64(),
    "date": UTC,
    "text": pl.String(),
    "bool": pl.Boolean(),
}

_EXPECTED: dict[ValueKind, str] = {
    "int": "a whole number",
    "date": f"a date like {DATE_EXAMPLE}",
    "bool": "True or False",
    "text": "text",
}


def _error(path: Path, line: int | None, problem: str) -> DataSourceError:
    where = f"{path.name} line {line}" if line else path.name
    return DataSourceError(f"{where} ({path}): {problem}")


def _parse_error(path: Path, exc: ParseError) -> DataSourceError:
    line, column = getattr(exc, "position", (None, None))
    reason = re.sub(r":\s*line \d+, column \d+\s*$", "", str(exc))
    where = f" at column {column + 1}" if column is not None else ""
    hint = (
        ": the file ends early, was it cut off while copying or extracting?"
        if reason.startswith("no element found")
        else ""
    )
    return _error(path, line, f"not well-formed XML{where}: {reason}{hint}")


def _defused_error(path: Path, line: int | None, exc: DefusedXmlException) -> DataSourceError:
    if isinstance(exc, DTDForbidden):
        what = "a document type declaration with its own definitions (<!DOCTYPE ... [ ... ]>)"
    else:
        what = f"an entity declaration or external reference ({type(exc).__name__})"
    return _error(
        path,
        line,
        f"refused: the file holds {what}, which can hide entity-expansion attacks; "
        "Stack Exchange dumps never do, so this file is not a genuine dump",
    )


def _typed_batch(
    path: Path, spec: _FileSpec, columns: list[list[str | None]], lines: list[int]
) -> pl.DataFrame:
    """Raw attribute strings -> typed columns, raising on the earliest bad row."""
    raw = pl.DataFrame(
        {**dict(zip(spec.names, columns, strict=True)), "_line": lines},
        schema={**dict.fromkeys(spec.names, pl.String()), "_line": pl.Int64()},
    ).with_columns(
        pl.when(pl.col(n).str.strip_chars() == "")
        .then(None)
        .otherwise(pl.col(n).str.strip_chars())
        .alias(n)
        for n in spec.names
    )
    typed: dict[str, pl.Expr] = {}
    for attr in spec.attrs:
        col = pl.col(attr.name)
        if attr.kind == "int":
            typed[attr.name] = col.cast(pl.Int64, strict=False)
        elif attr.kind == "date":
            typed[attr.name] = col.str.strptime(UTC, DATE_FORMAT, strict=False)
        elif attr.kind == "bool":
            low = col.str.to_lowercase()
            typed[attr.name] = pl.when(low == "true").then(True).when(low == "false").then(False)
        else:
            typed[attr.name] = col
    frame = raw.with_columns(expr.alias(f"_typed_{name}") for name, expr in typed.items())

    problems: list[tuple[int, str]] = []
    for attr in spec.attrs:
        if attr.required:
            missing = frame.filter(pl.col(attr.name).is_null())
            if missing.height:
                problems.append(
                    (int(missing["_line"][0]), f"the <row> has no {attr.name} (or it is empty)")
                )
        bad = frame.filter(
            pl.col(attr.name).is_not_null() & pl.col(f"_typed_{attr.name}").is_null()
        )
        if bad.height:
            problems.append(
                (
                    int(bad["_line"][0]),
                    f"{attr.name}={bad[attr.name][0]!r} is not {_EXPECTED[attr.kind]}",
                )
            )
    if problems:
        line, problem = min(problems)
        raise _error(path, line, problem)
    return frame.select(
        *(pl.col(f"_typed_{a.name}").cast(_DTYPES[a.kind]).alias(a.name) for a in spec.attrs),
        pl.col("_line"),
    )


@contextmanager
def _open(path: Path) -> Iterator[BinaryIO]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataSourceError(f"Cannot open {path}: {exc.strerror or exc}") from exc
    with handle:
        yield handle


def _read_file(path: Path, spec: _FileSpec, report: Callable[[str, int], None]) -> pl.DataFrame:
    """Every ``<row>`` of one dump file as a typed frame (plus ``_line``)."""
    names = spec.names
    columns: list[list[str | None]] = [[] for _ in names]
    lines: list[int] = []
    batches: list[pl.DataFrame] = []
    rows = 0
    with _open(path) as handle:
        reader = _DumpReader(handle)
        target = _RowTarget(names)
        parser = DefusedXMLParser(
            target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        target.expat = parser.parser
        root: str | None = None
        try:
            for _event, (tag, line, values) in iterparse(reader, ("start",), parser):
                if root is None:
                    root = tag
                    if tag != spec.root:
                        raise _error(
                            path,
                            line,
                            f"the document element is <{tag}>, expected <{spec.root}>: "
                            f"is this really {spec.file_name} of a Stack Exchange dump?",
                        )
                    continue
                if tag != "row":
                    raise _error(path, line, f"unexpected element <{tag}>, expected <row>")
                for column, value in zip(columns, values, strict=True):
                    column.append(value)
                lines.append(line)
                rows += 1
                if len(lines) >= BATCH_ROWS:
                    batches.append(_typed_batch(path, spec, columns, lines))
                    columns = [[] for _ in names]
                    lines = []
                if rows % PROGRESS_ROWS == 0:
                    report(f"Reading {spec.file_name} ({rows:,} rows)", reader.bytes_read)
        except ParseError as exc:
            raise _parse_error(path, exc) from exc
        except DefusedXmlException as exc:
            raise _defused_error(path, target.expat.CurrentLineNumber, exc) from exc
        except OSError as exc:
            raise DataSourceError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if lines or not batches:
        batches.append(_typed_batch(path, spec, columns, lines))
    report(f"Read {spec.file_name} ({rows:,} rows)", reader.bytes_read)
    return pl.concat(batches, rechunk=True) if len(batches) > 1 else batches[0]


# --- finding the files ---------------------------------------------------------------------


#: Files an archive must hold to be taken for a Stack Exchange dump.
ARCHIVE_REQUIRED = (USERS, POSTS, BADGES)


def _archive_members(archive: Path, names: list[str]) -> dict[str, str]:
    """The archive entry of each dump file, found by file name at any depth (case-insensitive);
    entries whose path is absolute or climbs out of the archive are never used."""
    wanted = {name.lower(): name for name in (USERS, POSTS, COMMENTS, BADGES)}
    found: dict[str, str] = {}
    for entry in sorted(names, key=lambda n: (n.count("/"), n)):
        parts = entry.replace("\\", "/").split("/")
        if entry.startswith(("/", "\\")) or ".." in parts:
            continue
        key = wanted.get(parts[-1].lower())
        if key is not None and key not in found:
            found[key] = entry
    missing = [name for name in ARCHIVE_REQUIRED if name not in found]
    if missing:
        listed = ", ".join(sorted(names)[:8]) or "nothing"
        raise DataSourceError(
            f"{archive} does not hold {' and '.join(missing)} (it holds {listed}"
            f"{', ...' if len(names) > 8 else ''}). Fix: pass the archive of one site as "
            "downloaded from the Stack Exchange data dump, e.g. music.meta.stackexchange.com.7z."
        )
    return found


#: The environment variable capping the bytes a ``.7z`` archive may unpack to.
ENV_MAX_EXTRACTED = "PROOFBOARD_MAX_EXTRACTED_BYTES"
#: By default an archive may unpack to this many times its own size ...
EXTRACT_RATIO = 20
#: ... and never to more than this (50 GB).
MAX_EXTRACTED_CEILING = 50 * 1000**3

_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}  # fmt: skip


def parse_byte_size(text: str) -> int:
    """A size such as ``8GB``, ``500 MB``, ``2GiB`` or ``123456`` (bytes) as bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS or float(match.group(1)) <= 0:
        raise InputError(
            f"{text!r} is not a size: write a positive number with an optional unit, e.g. 8GB, "
            "500MB or 2GiB"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def extraction_cap(archive_bytes: int, max_bytes: int | None = None) -> int:
    """The most bytes an archive of ``archive_bytes`` may unpack to: ``max_bytes`` when given,
    else ``$PROOFBOARD_MAX_EXTRACTED_BYTES``, else 20 times the archive, at most 50 GB."""
    if max_bytes is not None:
        return max_bytes
    env = os.environ.get(ENV_MAX_EXTRACTED)
    if env:
        try:
            return parse_byte_size(env)
        except ValueError as exc:
            raise DataSourceError(f"${ENV_MAX_EXTRACTED}: {exc}.") from None
    return min(EXTRACT_RATIO * max(archive_bytes, 1), MAX_EXTRACTED_CEILING)


def _too_large(archive: Path, size: str, cap: int) -> DataSourceError:
    from analytics.io.upload import format_size

    return DataSourceError(
        f"{archive} unpacks to {size}, more than the limit of {format_size(cap)} (by default 20 "
        "times the archive, at most 50 GB). Nothing was written and nothing is left in the "
        "temporary folder. Fix: if you trust the archive, raise the limit with "
        f"--max-extracted-bytes (or ${ENV_MAX_EXTRACTED}), e.g. --max-extracted-bytes 60GB."
    )


def _extract_archive(archive: Path, into: Path, max_bytes: int | None = None) -> Path:
    """Extract the dump files of a ``.7z`` archive into ``into``; returns the folder holding
    them. Raises :class:`DataSourceError` for an unreadable archive, missing files or more
    extracted bytes than :func:`extraction_cap` allows (checked against the sizes the archive
    declares before anything is written, and against the bytes actually written)."""
    import py7zr
    from py7zr.exceptions import (
        ArchiveError,
        CrcError,
        DecompressionBombError,
        DecompressionError,
        PasswordRequired,
    )

    from analytics.io.upload import format_size

    if not archive.is_file():
        raise DataSourceError(f"Stack Exchange archive {archive} does not exist")
    cap = extraction_cap(archive.stat().st_size, max_bytes)
    broken = (
        ArchiveError,
        CrcError,
        DecompressionError,
        PasswordRequired,
        lzma.LZMAError,
        EOFError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
    )
    # Extract below a folder of our own, so that an archive's own top folder (``dump/``, say)
    # cannot collide with the folder the dump files are gathered in.
    unpacked = into / "unpacked"
    unpacked.mkdir()
    try:
        with py7zr.SevenZipFile(archive, mode="r", max_extract_size=cap) as packed:
            members = _archive_members(archive, packed.getnames())
            targets = set(members.values())
            declared = sum(
                int(info.uncompressed or 0) for info in packed.list() if info.filename in targets
            )
            if declared > cap:
                raise _too_large(archive, format_size(declared), cap)
            packed.extract(path=unpacked, targets=list(targets))
    except DataSourceError:
        raise
    except DecompressionBombError as exc:
        raise _too_large(archive, f"more than {format_size(cap)}", cap) from exc
    except OSError as exc:
        raise DataSourceError(
            f"Cannot extract {archive}: {exc.strerror or exc}. Fix: check the disk space of "
            f"the temporary folder ({tempfile.gettempdir()})."
        ) from exc
    except broken as exc:
        raise DataSourceError(
            f"{archive} is not a readable 7-Zip archive ({type(exc).__name__}: {exc}). Fix: "
            "download it again (it may be cut off or damaged) and check it with `7z t`."
        ) from exc
    folder = into / "dump"
    folder.mkdir()
    for name, entry in members.items():
        extracted = unpacked / entry
        if not extracted.is_file():
            raise DataSourceError(
                f"{archive}: {entry} could not be extracted. Fix: download the archive again."
            )
        extracted.replace(folder / name)
    return folder


def _dump_files(folder: Path) -> dict[str, Path | None]:
    if not folder.exists():
        raise DataSourceError(f"Stack Exchange dump folder {folder} does not exist")
    if not folder.is_dir():
        raise DataSourceError(
            f"{folder} is a file: pass the folder of the extracted dump (holding Users.xml, "
            "Posts.xml, Badges.xml) or the site's .7z archive"
        )
    try:
        entries = {p.name: p for p in folder.iterdir() if p.is_file()}
    except OSError as exc:
        raise DataSourceError(f"Cannot list {folder}: {exc.strerror or exc}") from exc
    by_lower = {name.lower(): p for name, p in sorted(entries.items())}
    found: dict[str, Path | None] = {
        name: entries.get(name) or by_lower.get(name.lower())
        for name in (USERS, POSTS, COMMENTS, BADGES)
    }
    missing = [name for name in (USERS, POSTS) if found[name] is None]
    if missing:
        what = " and ".join(missing)
        archives = sorted(p for p in entries.values() if p.suffix.lower() == ".7z")
        if archives:
            raise DataSourceError(
                f"{what} not found in {folder}, which holds the archive {archives[0].name}. "
                f"Fix: import the archive itself (PATH = {archives[0]})."
            )
        raise DataSourceError(
            f"{what} not found in {folder}: a Stack Exchange dump folder holds Users.xml, "
            "Posts.xml and Badges.xml (extracted from the site's .7z archive)"
        )
    return found


# --- building the tables -------------------------------------------------------------------


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9+#.]+", "-", name.lower()).strip("-")
    return slug or "unnamed"


def _badge_items(names: pl.DataFrame) -> pl.DataFrame:
    """One proof item per distinct (Name, TagBased): ids stable across imports of the dump."""
    rows = sorted(set(names.select("Name", "TagBased").iter_rows()))
    ids = [("tag-badge:" if tag else "badge:") + _slug(name) for name, tag in rows]
    # Distinct names that slug alike ("C#" / "C++" would not, "Foo Bar" / "foo-bar" would)
    # keep their readable id plus a short digest of the exact name.
    seen: dict[str, int] = {}
    for item_id in ids:
        seen[item_id] = seen.get(item_id, 0) + 1
    if any(n > 1 for n in seen.values()):
        ids = [
            item_id
            if seen[item_id] == 1
            else f"{item_id}~{hashlib.sha1(name.encode()).hexdigest()[:8]}"
            for item_id, (name, _) in zip(ids, rows, strict=True)
        ]
    return pl.DataFrame(
        {
            "Name": [name for name, _ in rows],
            "TagBased": [tag for _, tag in rows],
            "item_id": ids,
            "title": [f"Tag badge: {name}" if tag else name for name, tag in rows],
        },
        schema={
            "Name": pl.String(),
            "TagBased": pl.Boolean(),
            "item_id": pl.String(),
            "title": pl.String(),
        },
    )


def _keep_members(
    frame: pl.DataFrame,
    owner: str,
    member_ids: pl.Series,
    what: str,
    skipped: dict[str, int],
) -> pl.DataFrame:
    """Rows owned by a known member, with ``member_id`` as text; the others counted."""
    no_owner = frame.filter(pl.col(owner).is_null())
    bot = frame.filter(pl.col(owner) <= 0)
    known = frame.filter(pl.col(owner) > 0).with_columns(
        pl.col(owner).cast(pl.String).alias("member_id")
    )
    kept = known.filter(pl.col("member_id").is_in(member_ids.implode()))
    without = "author" if what == "comments" else "owner"
    skipped[f"{what} without {without}"] = no_owner.height
    skipped[f"{what} of the bot account"] = bot.height
    skipped[f"{what} of unknown accounts"] = known.height - kept.height
    return kept


def read_stackexchange(
    path: Path, *, progress: Progress | None = None, max_extracted_bytes: int | None = None
) -> StackExchangeImport:
    """Read a Stack Exchange dump, an extracted folder or the site's ``.7z`` archive, as
    contract tables (see the module doc). An archive may unpack to at most
    ``max_extracted_bytes`` (default: :func:`extraction_cap`).

    Raises :class:`DataSourceError` for a missing Users.xml or Posts.xml (and, in an archive,
    Badges.xml), an unreadable archive, and a malformed file or row (naming the file and line).
    """
    progress = progress or _noop
    path = Path(path)
    if path.suffix.lower() != ".7z":
        return _read_folder(path, progress)
    with tempfile.TemporaryDirectory(prefix="proofboard-7z-") as tmp:
        progress(f"Extracting {path.name}", 0.0)
        folder = _extract_archive(path, Path(tmp), max_extracted_bytes)
        try:
            return _read_folder(folder, progress)
        except DataSourceError as exc:
            # Name the archive, not the temporary folder that is gone once this returns.
            raise DataSourceError(str(exc).replace(str(folder), f"{path}:")) from exc


def _read_folder(folder: Path, progress: Progress) -> StackExchangeImport:
    files = _dump_files(folder)
    present = [(name, p) for name, p in files.items() if p is not None]
    sizes = {name: max(p.stat().st_size, 1) for name, p in present}
    total = sum(sizes.values())
    offsets: dict[str, int] = {}
    running = 0
    for name, _ in present:
        offsets[name] = running
        running += sizes[name]

    def reader(name: str) -> Callable[[str, int], None]:
        return lambda step, done: progress(step, min((offsets[name] + done) / total, 1.0) * 0.95)

    def read(spec: _FileSpec) -> pl.DataFrame | None:
        path = files[spec.file_name]
        if path is None:
            return None
        return _read_file(path, spec, reader(spec.file_name))

    skipped: dict[str, int] = {}
    notes: list[str] = []

    users = read(_USERS)
    assert users is not None  # Users.xml is required by _dump_files
    repeated = users.filter(~pl.col("Id").is_first_distinct())
    if repeated.height:
        user_id, line = repeated["Id"][0], repeated["_line"][0]
        first = users.filter(pl.col("Id") == user_id)["_line"][0]
        raise _error(
            files[USERS] or folder, line, f"Id {user_id} appears again (first on line {first})"
        )
    skipped["bot account in Users.xml"] = users.filter(pl.col("Id") <= 0).height
    # Ids are whole numbers, written as text in one canonical form so that posts, comments and
    # badges find their member whatever the file's spelling ("07" and "7" are one account).
    members = users.filter(pl.col("Id") > 0).select(
        pl.col("Id").cast(pl.String).alias("member_id"),
        pl.col("CreationDate").alias("joined_at"),
        pl.col("LastAccessDate").alias("last_seen_at"),
    )
    member_ids = members["member_id"]

    posts = read(_POSTS)
    assert posts is not None  # Posts.xml is required by _dump_files
    kinds = pl.col("PostTypeId").replace_strict(POST_KINDS, default=None, return_dtype=pl.String)
    posts = posts.with_columns(kinds.alias("kind"))
    skipped["other post types"] = posts.filter(pl.col("kind").is_null()).height
    posts = _keep_members(
        posts.filter(pl.col("kind").is_not_null()), "OwnerUserId", member_ids, "posts", skipped
    )
    activity_parts = [
        posts.select("member_id", pl.col("CreationDate").alias("occurred_at"), "kind")
    ]

    comments = read(_COMMENTS)
    if comments is None:
        notes.append("Comments.xml not found: activity holds questions and answers only.")
    else:
        comments = _keep_members(comments, "UserId", member_ids, "comments", skipped)
        activity_parts.append(
            comments.select(
                "member_id",
                pl.col("CreationDate").alias("occurred_at"),
                pl.lit("comment").alias("kind"),
            )
        )
    activity = pl.concat(activity_parts)

    badges = read(_BADGES)
    if badges is None:
        notes.append("Badges.xml not found: no proof items and no exposures.")
        badges = _typed_batch(folder / BADGES, _BADGES, [[] for _ in _BADGES.attrs], [])
    badges = badges.with_columns(pl.col("TagBased").fill_null(False))
    items = _badge_items(badges)
    awards = _keep_members(badges, "UserId", member_ids, "badges", skipped).join(
        items.select("Name", "TagBased", "item_id"),
        on=["Name", "TagBased"],
        how="left",
        maintain_order="left",
    )
    proof_items = items.select(
        "item_id",
        pl.lit("badge").alias("kind"),
        "title",
        pl.lit(None, dtype=UTC).alias("published_at"),
    ).sort("item_id")
    exposures = awards.select(
        "member_id",
        "item_id",
        pl.col("Date").alias("occurred_at"),
        pl.lit("earned").alias("kind"),
    )

    progress("Read the dump", 1.0)
    return StackExchangeImport(
        tables={
            "members": members,
            "activity": activity,
            "proof_items": proof_items,
            "exposures": exposures,
        },
        skipped=skipped,
        notes=tuple(notes),
    )


__all__ = ["SKIP_REASONS", "StackExchangeImport", "read_stackexchange"]
