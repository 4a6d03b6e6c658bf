"""``release``: generate the student version of an assignment (nbgrader ``generate_assignment``).

:func:`release_assignment` writes ``exercises/<assignment>/`` from ``solutions/<assignment>/`` and
records the assignment's cells in the gradebook. :func:`check_release` generates into a scratch
folder (with a scratch gradebook) and compares with ``exercises/``: released notebooks must never
be hand-edited, and a test fails when they drift. The comparison normalizes what changes from one
run to the next without changing what a student sees (cell ids, execution counts, outputs, the
JSON layout).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import nbformat

from .course import Course, run_nbgrader

__all__ = ["generate_assignment", "release_assignment", "check_release", "normalize_notebook"]


def generate_assignment(course: Course, assignment: str, outdir: Path, *, db_url: str) -> Path:
    """Run nbgrader's ``GenerateAssignment`` for ``assignment`` into ``outdir/<assignment>``.

    ``db_url`` is the gradebook that records the assignment's cells. Returns the output folder.
    """
    from nbgrader.converters import GenerateAssignment

    course.require_assignment(assignment)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    run_nbgrader(
        GenerateAssignment, course, f"generate {assignment!r}",
        **{
            "CourseDirectory.release_directory": str(outdir),
            "CourseDirectory.db_url": db_url,
            "CourseDirectory.assignment_id": assignment,
            "GenerateAssignment.force": True,
            "GenerateAssignment.create_assignment": True,
        },
    )
    target = outdir / assignment
    if not target.is_dir():
        raise RuntimeError(f"nbgrader generated nothing for {assignment!r} (see its log above)")
    return target


def release_assignment(course: Course, assignment: str) -> list[Path]:
    """Regenerate ``exercises/<assignment>/`` and record the assignment in the gradebook.

    Generation happens in a scratch folder first, so a failure leaves ``exercises/`` untouched.
    Returns the released files.
    """
    course.require_assignment(assignment)
    course.ensure_workspace()
    with tempfile.TemporaryDirectory(prefix="chemdl-release-") as tmp:
        generated = generate_assignment(course, assignment, Path(tmp), db_url=course.db_url)
        for nb_path in generated.glob("*.ipynb"):
            _canonicalize(nb_path)
        target = course.release_dir / assignment
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(generated, target)
    return sorted(p for p in target.rglob("*") if p.is_file())


def _canonicalize(path: Path) -> None:
    """Give every cell of a generated notebook a stable id: the source's own id where it has one,
    else one derived from the nbgrader grade id or the cell's position (never a random one)."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if not cell.get("id") and nb.nbformat_minor >= 5:
            cell["id"] = _cell_id(gid, index)
    nbformat.write(nb, path)


def _cell_id(grade_id: str | None, index: int) -> str:
    import re

    base = re.sub(r"[^A-Za-z0-9_-]", "-", grade_id) if grade_id else f"cell-{index}"
    return base[:64]


def normalize_notebook(data: dict) -> dict:
    """A copy of notebook JSON without what varies between generations: cell ids, outputs,
    execution counts, and volatile metadata (timings, widget state, language version)."""
    out = json.loads(json.dumps(data))
    for cell in out.get("cells", []):
        cell.pop("id", None)
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        meta = cell.get("metadata", {})
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            meta.pop(key, None)
    meta = out.get("metadata", {})
    meta.pop("widgets", None)
    if isinstance(meta.get("language_info"), dict):
        meta["language_info"] = {"name": meta["language_info"].get("name")}
    out.pop("nbformat_minor", None)
    return out


def check_release(course: Course, assignment: str) -> list[str]:
    """Differences between ``exercises/<assignment>/`` and a fresh generation; empty when in sync.

    Each entry is one line naming the file and what differs. Uses a scratch gradebook, so the
    real one is not touched.
    """
    course.require_assignment(assignment)
    released = course.release_dir / assignment
    if not released.is_dir():
        return [f"{released} does not exist: run 'chemdl grade release {assignment}'"]
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chemdl-check-") as tmp:
        db = "sqlite:///" + str(Path(tmp) / "scratch.db")
        fresh = generate_assignment(course, assignment, Path(tmp) / "out", db_url=db)
        want = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        have = {p.relative_to(released) for p in released.rglob("*") if p.is_file()
                and ".ipynb_checkpoints" not in p.parts}
        for rel in sorted(want - have):
            problems.append(f"{released / rel}: missing (generate_assignment makes it)")
        for rel in sorted(have - want):
            problems.append(f"{released / rel}: not made by generate_assignment (extra file)")
        for rel in sorted(want & have):
            a, b = fresh / rel, released / rel
            if rel.suffix == ".ipynb":
                try:
                    got = normalize_notebook(json.loads(b.read_text(encoding="utf-8")))
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    problems.append(f"{b}: not valid JSON ({exc})")
                    continue
                exp = normalize_notebook(json.loads(a.read_text(encoding="utf-8")))
                if got != exp:
                    why = _first_difference(exp, got)
                    problems.append(f"{b}: differs from generate_assignment output ({why})")
            elif a.read_bytes() != b.read_bytes():
                problems.append(f"{b}: content differs from {course.source_dir / assignment / rel}")
    return problems


def _first_difference(expected: dict, got: dict) -> str:
    exp_cells, got_cells = expected.get("cells", []), got.get("cells", [])
    if len(exp_cells) != len(got_cells):
        return f"{len(got_cells)} cells, expected {len(exp_cells)}"
    for i, (e, g) in enumerate(zip(exp_cells, got_cells)):
        if e != g:
            keys = sorted(k for k in set(e) | set(g) if e.get(k) != g.get(k))
            return f"cell {i} differs in {', '.join(keys)}"
    return "notebook metadata differs"
