"""``collect``: turn downloaded submissions into nbgrader's ``submitted/<student>/<assignment>/``.

Accepted input, a folder or a ``.zip`` (an LMS "download all submissions"), in ONE of these
formats; the download's own format decides how every file in it is read (``fmt="auto"`` finds
it, ``--format`` names it):

* ``moodle``: ``Lastname Firstname_12345_assignsubmission_file_neurons.ipynb`` or a folder
  ``Lastname Firstname_12345_assignsubmission_file_/neurons.ipynb`` (user id ``12345``);
* ``canvas``: ``lastnamefirstname_12345_67890_neurons.ipynb`` (``_LATE_`` allowed; user id
  ``12345``; Canvas' resubmission suffix ``neurons-1.ipynb`` is removed);
* ``plain``: ``studentid_neurons.ipynb`` or a folder per student ``studentid/neurons.ipynb``.

Each file belongs to exactly one student by that one rule: a file in a Canvas download is read
only with Canvas' pattern (a Canvas upload named like a Moodle file stays with its uploader). A
download whose names fit both LMS patterns, or mix them, is refused (every file listed as an
error; pass ``fmt``). An optional mapping CSV has a ``student_id`` column and a ``lms_id`` and/or
``name`` column; names are compared by :func:`identity_key` (Unicode NFKC + casefold, letters of
every script kept). A key that two roster rows share, or two LMS accounts that map to one student,
is an error: those files are filed nowhere and nothing of that student's is overwritten. Every
file that maps to no student is listed as unmatched (never silently dropped). Links are never
followed: symbolic links (files or folders), hard links to files outside the download, zip
entries that are symbolic links or whose path is absolute or climbs with ``..`` are errors.

Each student's folder gets a ``timestamp.txt`` (latest file time, UTC). A newer submission
replaces an older one; an older one never replaces a newer one. :func:`collect_submissions`
returns a :class:`CollectReport`; its :attr:`~CollectReport.errors` make ``chemdl grade collect``
exit with status 1. Everything it prints goes through :func:`~.safe_text.printable`.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from .course import Course
from .safe_text import printable

__all__ = [
    "ParsedName",
    "CollectReport",
    "Roster",
    "FORMATS",
    "detect_format",
    "identity_key",
    "parse_submission_name",
    "load_mapping",
    "collect_submissions",
    "write_timestamp",
    "read_timestamp",
    "TIMESTAMP_FORMAT",
]

#: nbgrader's timestamp format (``timestamp.txt``)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
#: download formats ``collect`` reads (``auto`` finds the one that fits)
FORMATS = ("auto", "moodle", "canvas", "plain")
MAX_FILE_BYTES = 100 << 20
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_?(?P<file>.*)$", re.S)
_MOODLE_MARK = re.compile(r"_\d+_assignsubmission_")
_CANVAS = re.compile(r"^(?P<name>[^\W_]*)(?:_LATE)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)$", re.S)
_IGNORED = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db")
_LABEL = {"moodle": "Moodle", "canvas": "Canvas", "plain": "plain"}
_EXPECTED = {
    "moodle": "expected 'Name_12345_assignsubmission_file_...'",
    "canvas": "expected 'name_12345_67890_...'",
    "plain": "expected e.g. studentid_neurons.ipynb or studentid/neurons.ipynb",
}


@dataclass(frozen=True)
class ParsedName:
    """What a downloaded file's path says: who (``key``: LMS id or student id), and the file name."""

    key: str
    filename: str
    name: str = ""
    style: str = "plain"

    def who(self) -> str:
        """The identity in words, e.g. ``moodle id '12345' (Doe Jane)``."""
        return f"{self.style} id {self.key!r}" + (f" ({self.name})" if self.name else "")


@dataclass
class CollectReport:
    """Outcome of one ``collect`` run."""

    collected: dict[str, list[str]] = field(default_factory=dict)  #: student -> files written
    unchanged: list[str] = field(default_factory=list)  #: same submission already there
    kept_newer: list[str] = field(default_factory=list)  #: an older file did not replace a newer one
    unmatched: list[tuple[str, str]] = field(default_factory=list)  #: (file, why): names no student
    errors: list[tuple[str, str]] = field(default_factory=list)  #: (file, why): refused, filed nowhere
    no_submission: list[str] = field(default_factory=list)  #: students in the mapping without a file
    notes: list[str] = field(default_factory=list)
    format: str = ""  #: the download's format (moodle, canvas, plain; empty when undecided)

    @property
    def ok(self) -> bool:
        """No errors (ambiguous owners, links, unsafe paths)."""
        return not self.errors

    def lines(self) -> list[str]:
        """Human-readable summary, one line per fact (control characters removed)."""
        out = [f"collected {s}: {', '.join(f)}" for s, f in sorted(self.collected.items())]
        out += [f"unchanged {s}" for s in self.unchanged]
        out += [f"kept newer submission of {s} (the download holds an older one)" for s in self.kept_newer]
        out += [f"UNMATCHED {name}: {why}" for name, why in self.unmatched]
        out += [f"no submission: {s}" for s in self.no_submission]
        out += self.notes
        out += [f"ERROR {name}: {why}" for name, why in self.errors]
        return [printable(line).replace("\n", " ") for line in out]


def identity_key(text: str) -> str:
    """``text`` reduced to what identifies a person: Unicode NFKC, case folded, only letters, marks
    and digits kept (of every script: ``'王芳'`` stays ``'王芳'``); ``''`` when nothing is left."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", str(text)).casefold())
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LMN")


def _parts(path: str) -> list[str]:
    return [p for p in PurePosixPath(path).parts if p not in ("", ".")]


def _parse_moodle(parts: list[str]) -> ParsedName | None:
    m = _MOODLE.match(parts[0])
    if not m:
        return None
    rest = "/".join(([m.group("file")] if m.group("file") else []) + parts[1:])
    return ParsedName(m.group("id"), rest, m.group("name").strip(), "moodle") if rest else None


def _parse_canvas(parts: list[str], notebook_names: tuple[str, ...]) -> ParsedName | None:
    m = _CANVAS.match(parts[0]) if len(parts) == 1 else None
    if not m:
        return None
    filename = m.group("file")
    stem, suffix = _split(filename)
    base = re.sub(r"-\d+$", "", stem)
    if base != stem and (not notebook_names or base in notebook_names):
        filename = base + suffix
    return ParsedName(m.group("id"), filename, m.group("name"), "canvas")


def _parse_plain(parts: list[str], notebook_names: tuple[str, ...]) -> ParsedName | None:
    if len(parts) >= 2:  # a folder per student
        return ParsedName(parts[0], "/".join(parts[1:]), "", "folder")
    for nb in notebook_names:  # studentid_neurons.ipynb, with underscores allowed in the id
        suffix = f"_{nb}.ipynb"
        if parts[0].endswith(suffix) and len(parts[0]) > len(suffix):
            return ParsedName(parts[0][: -len(suffix)], f"{nb}.ipynb", "", "plain")
    if "_" in parts[0]:
        key, filename = parts[0].split("_", 1)
        return ParsedName(key, filename, "", "plain") if key and filename else None
    return None


def detect_format(paths: list[str]) -> tuple[str | None, list[str]]:
    """The one format every LMS-named path of a download fits: ``(format, [])``, or ``(None, [why])``.

    ``canvas`` when every path that fits an LMS pattern fits Canvas' and some fit only Canvas'
    (a Canvas upload may be named like a Moodle file; a Moodle file never fits only Canvas'),
    ``moodle`` likewise, ``plain`` when no path fits either. Undecided when paths fit only Moodle's
    and others only Canvas' (a mixed download), or when every path fits both.
    """
    only_moodle, only_canvas, both = [], [], []
    for path in paths:
        parts = _parts(path)
        if not parts:
            continue
        m, c = _parse_moodle(parts) is not None, _parse_canvas(parts, ()) is not None
        (both if m and c else only_moodle if m else only_canvas if c else []).append(path)
    if only_moodle and only_canvas:
        return None, [f"the download has both Moodle and Canvas file names (e.g. {only_moodle[0]!r} and "
                      f"{only_canvas[0]!r}): collect each LMS download on its own, or pass --format"]
    if only_moodle:
        return "moodle", []
    if only_canvas:
        return "canvas", []
    if both:
        return None, [f"every LMS-named file fits both the Moodle and the Canvas pattern (e.g. {both[0]!r}): "
                      "pass --format moodle or --format canvas"]
    return "plain", []


def parse_submission_name(path: str, notebook_names: tuple[str, ...] = (), fmt: str = "auto") -> ParsedName | None:
    """Parse one path inside a download (``/``-separated) by the rule of format ``fmt``
    (``auto``: the format this one path fits); ``None`` when it names no student."""
    parts = _parts(path)
    if not parts:
        return None
    if fmt == "auto":
        fmt = detect_format([path])[0] or "plain"
    if fmt not in FORMATS:
        raise ValueError(f"unknown download format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "moodle":
        return _parse_moodle(parts)
    if fmt == "canvas":
        return _parse_canvas(parts, notebook_names)
    return _parse_plain(parts, notebook_names)


def _split(filename: str) -> tuple[str, str]:
    p = PurePosixPath(filename)
    return filename[: len(filename) - len(p.suffix)], p.suffix


class Roster(dict):
    """A mapping CSV: ``{"id:<lms id>" or "name:<identity key>": student_id}`` for the keys that name
    exactly one student; :attr:`ambiguous` holds the keys several roster rows share."""

    def __init__(self) -> None:
        super().__init__()
        self.ambiguous: dict[str, list[str]] = {}
        self.students: set[str] = set()
        self.lms_ids: dict[str, set[str]] = {}  #: student -> the LMS ids the roster gives them

    def add(self, key: str, student: str) -> None:
        """Record ``key -> student``; a key already naming another student becomes ambiguous."""
        if key in self.ambiguous:
            if student not in self.ambiguous[key]:
                self.ambiguous[key].append(student)
        elif key in self and self[key] != student:
            self.ambiguous[key] = [self.pop(key), student]
        else:
            self[key] = student


def load_mapping(path: Path) -> Roster:
    """Read a mapping CSV: ``student_id`` plus ``lms_id`` and/or ``name`` columns -> a :class:`Roster`.

    Names are matched by :func:`identity_key` (case, spaces, punctuation and Unicode compatibility
    forms ignored; letters of every script count). A name with no letters or digits matches nobody.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mapping file {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = {c.strip().lower(): c for c in (reader.fieldnames or [])}
        if "student_id" not in cols or not ({"lms_id", "name"} & set(cols)):
            raise ValueError(
                f"mapping file {path} needs a 'student_id' column and a 'lms_id' or 'name' column "
                f"(found: {', '.join(reader.fieldnames or []) or 'no header'})"
            )
        out = Roster()
        for row in reader:
            sid = (row.get(cols["student_id"]) or "").strip()
            if not sid:
                continue
            out.students.add(sid)
            if "lms_id" in cols and (row.get(cols["lms_id"]) or "").strip():
                out.add("id:" + row[cols["lms_id"]].strip(), sid)
                out.lms_ids.setdefault(sid, set()).add(row[cols["lms_id"]].strip())
            if "name" in cols and identity_key(row.get(cols["name"]) or ""):
                out.add("name:" + identity_key(row[cols["name"]]), sid)
    return out


def write_timestamp(folder: Path, timestamp: dt.datetime | str) -> None:
    """Write nbgrader's ``timestamp.txt`` into ``folder``."""
    if isinstance(timestamp, dt.datetime):
        utc = dt.timezone.utc
        ts = timestamp.astimezone(utc) if timestamp.tzinfo else timestamp.replace(tzinfo=utc)
        timestamp = ts.strftime(TIMESTAMP_FORMAT)
    (Path(folder) / "timestamp.txt").write_text(str(timestamp))


def read_timestamp(folder: Path) -> dt.datetime | None:
    """The UTC time in ``folder/timestamp.txt`` (naive, as nbgrader stores it), or ``None``."""
    path = Path(folder) / "timestamp.txt"
    if not path.is_file():
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(path.read_text().strip())
    except (ValueError, OverflowError):
        return None


@dataclass
class _Entry:
    source: str
    filename: str
    timestamp: dt.datetime
    read: Callable[[], bytes]


@dataclass
class _Raw:
    """One file of the download: its path (``/``-separated), time, size, reader, or why it is refused."""

    rel: str
    when: dt.datetime
    size: int
    read: Callable[[], bytes]
    problem: str | None = None


def _zip_entries(source: Path) -> list[_Raw]:
    out = []
    zf = zipfile.ZipFile(source)
    for info in zf.infolist():
        if info.is_dir():
            continue
        when = dt.datetime(*info.date_time)
        mode = info.external_attr >> 16
        problem = None
        if stat.S_ISLNK(mode):
            problem = "symbolic link in the zip, not followed (skipped)"
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            problem = "not a regular file in the zip (skipped)"
        out.append(_Raw(info.filename, when, info.file_size, lambda info=info: zf.read(info), problem))
    return out


def _read_regular(path: str, dev: int, ino: int) -> bytes:
    """The bytes of ``path``, opened without following a link, and only if it is still the file seen
    when the folder was listed (same device and inode)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (dev, ino):
            raise OSError(f"{printable(path)} changed while collecting; collect again")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)


def _folder_entries(source: Path) -> list[_Raw]:
    out: list[_Raw] = []
    seen: dict[tuple[int, int], int] = {}
    regular: list[tuple[_Raw, os.stat_result]] = []
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = Path(path).relative_to(source).as_posix()
            st = os.lstat(path)
            when = dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).replace(tzinfo=None)
            if stat.S_ISLNK(st.st_mode):
                out.append(_Raw(rel, when, 0, bytes, "symbolic link, not followed (skipped)"))
            elif stat.S_ISDIR(st.st_mode):
                continue
            elif not stat.S_ISREG(st.st_mode):
                out.append(_Raw(rel, when, 0, bytes, "not a regular file (skipped)"))
            else:
                key = (st.st_dev, st.st_ino)
                seen[key] = seen.get(key, 0) + 1
                raw = _Raw(rel, when, st.st_size, lambda p=path, k=key: _read_regular(p, *k))
                regular.append((raw, st))
                out.append(raw)
    for raw, st in regular:  # a hard link whose other names are all inside the download is a copy
        if st.st_nlink > seen[(st.st_dev, st.st_ino)]:
            raw.problem = "hard link to a file outside the download, not followed (skipped)"
    return sorted(out, key=lambda r: r.rel)


def _entries(source: Path) -> list[_Raw]:
    """Every file in a folder or zip (links and other non-files carry a ``problem``)."""
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ValueError(f"{source} is neither a folder nor a zip file")
        return _zip_entries(source)
    if not source.is_dir():
        raise FileNotFoundError(f"submissions {source} do not exist (expected a folder or a .zip)")
    return _folder_entries(source)


def _unsafe(rel: str) -> bool:
    """An absolute path, a drive, or a ``..`` component (``/`` and ``\\`` both count as separators)."""
    parts = re.split(r"[\\/]", rel)
    return (rel.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", rel) is not None
            or "\x00" in rel)


def _ignored(rel: str) -> bool:
    return any(p in _IGNORED or p.startswith("._") for p in PurePosixPath(rel).parts)


def collect_submissions(
    course: Course,
    assignment: str,
    source: Path,
    mapping: Path | None = None,
    *,
    dry_run: bool = False,
    fmt: str = "auto",
) -> CollectReport:
    """Copy the submissions in ``source`` (folder or zip) into ``submitted/<student>/<assignment>/``.

    ``fmt`` is the download's format (``auto``, ``moodle``, ``canvas``, ``plain``); see the module
    docstring for how files are assigned to students and what is refused.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown download format {fmt!r}; use one of {', '.join(FORMATS)}")
    notebook_names = tuple(p.stem for p in course.source_notebooks(assignment))
    others = {p.stem: a for a in course.assignments() if a != assignment for p in course.source_notebooks(a)
              if p.stem not in notebook_names}
    roster = load_mapping(mapping) if mapping is not None else None
    report = CollectReport()
    raws = _strip_wrapper([r for r in _entries(Path(source)) if not _ignored(r.rel)], notebook_names)
    good: list[_Raw] = []
    for raw in raws:
        if raw.problem:
            report.errors.append((raw.rel, raw.problem))
        elif _unsafe(raw.rel):
            report.errors.append((raw.rel, "unsafe path (absolute or '..'), skipped"))
        elif raw.size > MAX_FILE_BYTES:
            report.unmatched.append((raw.rel, f"larger than {MAX_FILE_BYTES >> 20} MB, skipped"))
        else:
            good.append(raw)
    if fmt == "auto":
        found, problems = detect_format([r.rel for r in good])
        if found is None:
            report.errors += [(r.rel, problems[0] + "; nothing filed") for r in good]
            return report
        fmt = found
    report.format = fmt
    # student -> identity (style, key) -> entries
    per_student: dict[str, dict[tuple[str, str], list[tuple[ParsedName, _Raw]]]] = {}
    for raw in good:
        if fmt == "moodle" and len(_MOODLE_MARK.findall(_parts(raw.rel)[0])) > 1:
            # Moodle writes '<name>_<id>_assignsubmission_<plugin>_<file>'; the name and the file are
            # the student's to choose, so a second '_<id>_assignsubmission_' makes the owner undecidable
            report.errors.append((raw.rel, "more than one '_<id>_assignsubmission_' in the name: the owner "
                                           "is ambiguous, filed for nobody"))
            continue
        parsed = parse_submission_name(raw.rel, notebook_names, fmt)
        other = _other_assignment(PurePosixPath(raw.rel).name, parsed, notebook_names, others)
        if other is not None:  # e.g. ada_graphs.ipynb in a download collected for neurons
            report.unmatched.append((raw.rel, f"named as a notebook of assignment {other!r}, skipped"))
            continue
        if parsed is None:
            why = "names no student" if fmt == "plain" else f"not a {_LABEL[fmt]} file name"
            report.unmatched.append((raw.rel, f"{why} ({_EXPECTED[fmt]})"))
            continue
        student, error = _student_for(parsed, roster)
        if error:
            report.errors.append((raw.rel, error))
            continue
        if student is None:
            report.unmatched.append((raw.rel, f"{parsed.who()} is not in the mapping"))
            continue
        if not _STUDENT_ID.match(student):
            report.unmatched.append((raw.rel, f"student id {student!r} is not a valid folder name"))
            continue
        per_student.setdefault(student, {}).setdefault((fmt, parsed.key), []).append((parsed, raw))
    for student, identities in sorted(per_student.items()):
        if len(identities) > 1:  # two LMS accounts (or ids) for one student: nobody can tell whose is whose
            for ident, items in identities.items():
                rivals = ", ".join(p.who() for i, its in identities.items() if i != ident for p, _ in its[:1])
                for parsed, raw in items:
                    report.errors.append((raw.rel, f"{parsed.who()} and {rivals} all map to student {student!r}: "
                                                   f"nothing filed for {student}; fix the mapping and collect again"))
            continue
        files: dict[str, _Entry] = {}
        for parsed, raw in next(iter(identities.values())):
            entry = _Entry(raw.rel, parsed.filename, raw.when, raw.read)
            if parsed.filename in files:
                newer = max([files[parsed.filename], entry], key=lambda e: e.timestamp)
                report.notes.append(f"{student}: two files for {parsed.filename}; kept the later {newer.source}")
                entry = newer
            files[parsed.filename] = entry
        _store(course, assignment, student, files, report, dry_run)
    if roster is not None:
        everyone = sorted(roster.students)
        report.no_submission = [s for s in everyone if s not in per_student]
    return report


def _other_assignment(filename: str, parsed: ParsedName | None, notebook_names: tuple[str, ...],
                      others: dict[str, str]) -> str | None:
    """The other assignment a file's name points at (``<id>_<other notebook>.ipynb``), if any."""
    if parsed is not None and PurePosixPath(parsed.filename).stem in notebook_names:
        return None
    for stem, assignment in others.items():
        if filename.endswith(f"_{stem}.ipynb") or filename == f"{stem}.ipynb":
            return assignment
    return None


def _strip_wrapper(entries: list[_Raw], notebook_names: tuple[str, ...]) -> list[_Raw]:
    """Drop a single folder that wraps a whole download (``submissions/jdoe_neurons.ipynb``).

    Kept when the files directly inside it name no student: then it is one student's folder.
    """
    tops = {PurePosixPath(r.rel).parts[0] for r in entries if PurePosixPath(r.rel).parts}
    if len(tops) != 1:
        return entries
    top = tops.pop()
    if _MOODLE.match(top) or top in ("/", "..", "."):
        return entries
    inner = [r.rel.split("/", 1)[1] for r in entries if "/" in r.rel]
    direct = [r for r in inner if "/" not in r and not r.startswith((".", "__MACOSX"))]
    if len(inner) != len(entries) or not direct:
        return entries
    if not all(parse_submission_name(r, notebook_names) is not None for r in direct):
        return entries
    return [_Raw(r.rel.split("/", 1)[1], r.when, r.size, r.read, r.problem) for r in entries]


def _student_for(parsed: ParsedName, roster: Roster | None) -> tuple[str | None, str | None]:
    """``(student, None)``, ``(None, None)`` when the roster names nobody, ``(None, why)`` when it is ambiguous."""
    if roster is None:
        return parsed.key, None
    candidates = ["id:" + parsed.key]
    if identity_key(parsed.name):
        candidates.append("name:" + identity_key(parsed.name))
    if identity_key(parsed.key) and identity_key(parsed.key) != parsed.key:
        candidates.append("id:" + identity_key(parsed.key))
    for key in candidates:
        if key in roster.ambiguous:
            kind, value = key.split(":", 1)
            return None, (f"{parsed.who()}: the mapping's {'lms_id' if kind == 'id' else 'name'} {value!r} "
                          f"belongs to {len(roster.ambiguous[key])} students "
                          f"({', '.join(roster.ambiguous[key])}); filed for none of them")
        if key in roster:
            student = roster[key]
            known = roster.lms_ids.get(student, set())
            if key != "id:" + parsed.key and known and parsed.key not in known:
                # matched by name, but the roster gives this student another LMS id: an impostor
                # (a display name copied from a classmate) or a second account; never guess
                return None, (f"{parsed.who()} matches {student!r} by name, but the mapping gives {student} "
                              f"the lms_id {', '.join(sorted(known))}; filed for nobody")
            return student, None
    return None, None


def _store(course: Course, assignment: str, student: str, files: dict[str, _Entry], report: CollectReport,
           dry_run: bool) -> None:
    target = course.submitted_dir / student / assignment
    stamp = max(e.timestamp for e in files.values())
    existing = read_timestamp(target) if target.is_dir() else None
    if existing is not None and existing > stamp:
        report.kept_newer.append(student)
        return
    if existing is not None and existing == stamp:
        same = all((target / n).is_file() and (target / n).read_bytes() == e.read() for n, e in files.items())
        if same:
            report.unchanged.append(student)
            return
    report.collected[student] = sorted(files)
    if dry_run:
        return
    tmp = target.with_name(f".{assignment}.collecting")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name, entry in files.items():
        dest = tmp / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(entry.read())
    write_timestamp(tmp, stamp)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
