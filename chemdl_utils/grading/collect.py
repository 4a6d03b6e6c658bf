"""``collect``: turn downloaded submissions into nbgrader's ``submitted/<student>/<assignment>/``.

Accepted input, a folder or a ``.zip`` (an LMS "download all submissions"):

* Moodle: ``Lastname Firstname_12345_assignsubmission_file_neurons.ipynb`` or a folder
  ``Lastname Firstname_12345_assignsubmission_file_/neurons.ipynb`` (id ``12345``);
* Canvas: ``lastnamefirstname_12345_67890_neurons.ipynb`` (``_LATE_`` allowed; user id ``12345``;
  Canvas' resubmission suffix ``neurons-1.ipynb`` is removed);
* plain: ``studentid_neurons.ipynb`` or a folder per student ``studentid/neurons.ipynb``.

An optional mapping CSV has a ``student_id`` column and a ``lms_id`` and/or ``name`` column; with
it, LMS ids or names become the course's student ids, and every file that maps to no student is
listed as unmatched (never silently dropped). Each student's folder gets a ``timestamp.txt``
(latest file time, UTC). A newer submission replaces an older one; an older one never replaces a
newer one. :func:`collect_submissions` returns a :class:`CollectReport`.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from .course import Course

__all__ = [
    "ParsedName",
    "CollectReport",
    "parse_submission_name",
    "load_mapping",
    "collect_submissions",
    "write_timestamp",
    "read_timestamp",
    "TIMESTAMP_FORMAT",
]

#: nbgrader's timestamp format (``timestamp.txt``)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
MAX_FILE_BYTES = 100 << 20
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_?(?P<file>.*)$")
_CANVAS = re.compile(r"^(?P<name>[a-z]+)(?:_LATE)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
_IGNORED = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db")


@dataclass(frozen=True)
class ParsedName:
    """What a downloaded file's path says: who (``key``: LMS id or student id), and the file name."""

    key: str
    filename: str
    name: str = ""
    style: str = "plain"


@dataclass
class CollectReport:
    """Outcome of one ``collect`` run."""

    collected: dict[str, list[str]] = field(default_factory=dict)  #: student -> files written
    unchanged: list[str] = field(default_factory=list)  #: same submission already there
    kept_newer: list[str] = field(default_factory=list)  #: an older file did not replace a newer one
    unmatched: list[tuple[str, str]] = field(default_factory=list)  #: (file, why)
    no_submission: list[str] = field(default_factory=list)  #: students in the mapping without a file
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary, one line per fact."""
        out = [f"collected {s}: {', '.join(f)}" for s, f in sorted(self.collected.items())]
        out += [f"unchanged {s}" for s in self.unchanged]
        out += [f"kept newer submission of {s} (the download holds an older one)" for s in self.kept_newer]
        out += [f"UNMATCHED {name}: {why}" for name, why in self.unmatched]
        out += [f"no submission: {s}" for s in self.no_submission]
        out += self.notes
        return out


def parse_submission_name(path: str, notebook_names: tuple[str, ...] = ()) -> ParsedName | None:
    """Parse one path inside a download (``/``-separated); ``None`` when it names no student."""
    parts = [p for p in PurePosixPath(path).parts if p not in ("", ".")]
    if not parts:
        return None
    for i, part in enumerate(parts):
        m = _MOODLE.match(part)
        if m:
            rest = "/".join(([m.group("file")] if m.group("file") else []) + parts[i + 1:])
            if not rest:
                return None
            return ParsedName(m.group("id"), rest, m.group("name").strip(), "moodle")
    m = _CANVAS.match(parts[-1])
    if m and len(parts) == 1:
        filename = m.group("file")
        stem, suffix = _split(filename)
        base = re.sub(r"-\d+$", "", stem)
        if base != stem and (not notebook_names or base in notebook_names):
            filename = base + suffix
        return ParsedName(m.group("id"), filename, m.group("name"), "canvas")
    if len(parts) >= 2:  # a folder per student
        return ParsedName(parts[0], "/".join(parts[1:]), "", "folder")
    for nb in notebook_names:  # studentid_neurons.ipynb, with underscores allowed in the id
        suffix = f"_{nb}.ipynb"
        if parts[0].endswith(suffix) and len(parts[0]) > len(suffix):
            return ParsedName(parts[0][: -len(suffix)], f"{nb}.ipynb", "", "plain")
    if "_" in parts[0]:
        key, filename = parts[0].split("_", 1)
        return ParsedName(key, filename, "", "plain")
    return None


def _split(filename: str) -> tuple[str, str]:
    p = PurePosixPath(filename)
    return filename[: len(filename) - len(p.suffix)], p.suffix


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def load_mapping(path: Path) -> dict[str, str]:
    """Read a mapping CSV: ``student_id`` plus ``lms_id`` and/or ``name`` columns -> ``{key: student_id}``.

    Names are matched ignoring case, spaces and punctuation.
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
        out: dict[str, str] = {}
        for row in reader:
            sid = (row.get(cols["student_id"]) or "").strip()
            if not sid:
                continue
            if "lms_id" in cols and (row.get(cols["lms_id"]) or "").strip():
                out["id:" + row[cols["lms_id"]].strip()] = sid
            if "name" in cols and (row.get(cols["name"]) or "").strip():
                out["name:" + _norm(row[cols["name"]])] = sid
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


def _entries(source: Path) -> list[tuple[str, dt.datetime, int, Callable[[], bytes]]]:
    """(relative path, time, size, reader) of every file in a folder or zip."""
    out = []
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ValueError(f"{source} is neither a folder nor a zip file")
        zf = zipfile.ZipFile(source)
        for info in zf.infolist():
            if info.is_dir():
                continue
            when = dt.datetime(*info.date_time)
            out.append((info.filename, when, info.file_size, lambda info=info: zf.read(info)))
        return out
    if not source.is_dir():
        raise FileNotFoundError(f"submissions {source} do not exist (expected a folder or a .zip)")
    for path in sorted(source.rglob("*")):
        if path.is_file():
            when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).replace(tzinfo=None)
            out.append((path.relative_to(source).as_posix(), when, path.stat().st_size, path.read_bytes))
    return out


def collect_submissions(
    course: Course,
    assignment: str,
    source: Path,
    mapping: Path | None = None,
    *,
    dry_run: bool = False,
) -> CollectReport:
    """Copy the submissions in ``source`` (folder or zip) into ``submitted/<student>/<assignment>/``."""
    notebook_names = tuple(p.stem for p in course.source_notebooks(assignment))
    others = {p.stem: a for a in course.assignments() if a != assignment for p in course.source_notebooks(a)
              if p.stem not in notebook_names}
    keys = load_mapping(mapping) if mapping is not None else None
    report = CollectReport()
    per_student: dict[str, dict[str, _Entry]] = {}
    entries = [
        e for e in _entries(Path(source))
        if not any(p in _IGNORED or p.startswith("._") for p in PurePosixPath(e[0]).parts)
    ]
    for rel, when, size, read in _strip_wrapper(entries, notebook_names):
        parts = PurePosixPath(rel).parts
        if rel.startswith("/") or ".." in parts:
            report.unmatched.append((rel, "unsafe path (absolute or '..'), skipped"))
            continue
        if size > MAX_FILE_BYTES:
            report.unmatched.append((rel, f"larger than {MAX_FILE_BYTES >> 20} MB, skipped"))
            continue
        parsed = parse_submission_name(rel, notebook_names)
        other = _other_assignment(PurePosixPath(rel).name, parsed, notebook_names, others)
        if other is not None:  # e.g. ada_graphs.ipynb in a download collected for neurons
            report.unmatched.append((rel, f"named as a notebook of assignment {other!r}, skipped"))
            continue
        if parsed is None:
            report.unmatched.append((rel, "names no student (expected e.g. studentid_neurons.ipynb)"))
            continue
        student = _student_for(parsed, keys)
        if student is None:
            who = f"{parsed.style} id {parsed.key!r}" + (f" ({parsed.name})" if parsed.name else "")
            report.unmatched.append((rel, f"{who} is not in the mapping"))
            continue
        if not _STUDENT_ID.match(student):
            report.unmatched.append((rel, f"student id {student!r} is not a valid folder name"))
            continue
        files = per_student.setdefault(student, {})
        entry = _Entry(rel, parsed.filename, when, read)
        if parsed.filename in files:
            older, newer = sorted([files[parsed.filename], entry], key=lambda e: e.timestamp)
            report.notes.append(f"{student}: two files for {parsed.filename}; kept the later {newer.source}")
            entry = newer
        files[parsed.filename] = entry
    for student, files in sorted(per_student.items()):
        _store(course, assignment, student, files, report, dry_run)
    if keys is not None:
        everyone = sorted(set(keys.values()))
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


def _strip_wrapper(entries: list, notebook_names: tuple[str, ...]) -> list:
    """Drop a single folder that wraps a whole download (``submissions/jdoe_neurons.ipynb``).

    Kept when the files directly inside it name no student: then it is one student's folder.
    """
    tops = {PurePosixPath(rel).parts[0] for rel, *_ in entries if PurePosixPath(rel).parts}
    if len(tops) != 1:
        return entries
    top = tops.pop()
    if _MOODLE.match(top):
        return entries
    inner = [rel.split("/", 1)[1] for rel, *_ in entries if "/" in rel]
    direct = [r for r in inner if "/" not in r and not r.startswith((".", "__MACOSX"))]
    if len(inner) != len(entries) or not direct:
        return entries
    if not all(parse_submission_name(r, notebook_names) is not None for r in direct):
        return entries
    return [(rel.split("/", 1)[1], *rest) for rel, *rest in entries]


def _student_for(parsed: ParsedName, keys: dict[str, str] | None) -> str | None:
    if keys is None:
        return parsed.key
    for candidate in ("id:" + parsed.key, "name:" + _norm(parsed.name), "id:" + _norm(parsed.key)):
        if candidate in keys:
            return keys[candidate]
    return None


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
