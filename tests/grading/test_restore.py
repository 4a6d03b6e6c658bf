"""The one restore step: the notebook the grader executes, rebuilt in memory from the release and
the student's answers (no gradebook, nothing written to disk, no hidden tests in it)."""

from __future__ import annotations

import copy
import json

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from chemdl_utils.grading.restore import COURSE_KERNEL, released_cell_source, restore_notebook


def _meta(gid, **flags):
    return {"nbgrader": {"grade_id": gid, "schema_version": 3, "grade": False, "solution": False,
                         "locked": False, **flags}}


def _source():
    return new_notebook(cells=[
        new_markdown_cell("# Intro", metadata=_meta("intro", locked=True)),
        new_code_cell("import math", metadata=_meta("setup", locked=True)),
        new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=_meta("q1_answer", solution=True)),
        new_code_cell("assert f(1) == 2, 'f(1) should be 2'\n### BEGIN HIDDEN TESTS\nassert f(5) == 10\n"
                      "### END HIDDEN TESTS", metadata=_meta("q1_test", grade=True, locked=True, points=2)),
        new_markdown_cell("Because isotopes.", metadata=_meta("q2_written", solution=True, grade=True, points=1)),
        new_code_cell("assert f(0) == 0", metadata=_meta("q3_test", grade=True, locked=True, points=1)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def _released(source):
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        cell.source = released_cell_source(cell)
    return nb


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_released_text_follows_nbgrader_rules():
    src = _source()
    assert released_cell_source(src.cells[2]) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert released_cell_source(src.cells[3]) == "assert f(1) == 2, 'f(1) should be 2'\n"
    assert released_cell_source(src.cells[4]) == "YOUR ANSWER HERE"  # a written answer: the whole cell


def test_answers_kept_locked_cells_released_hidden_tests_never_in_it():
    src = _source()
    sub = _released(src)
    sub.cells[2].source = "def f(x):\n    return x + x"
    sub.cells[2].outputs = [{"output_type": "stream", "name": "stdout", "text": "old"}]
    sub.cells[2].metadata["nbgrader"]["points"] = 99  # metadata from the student is not trusted
    restored = restore_notebook(sub, src)
    nb = restored.notebook
    assert nb.cells[2].source == "def f(x):\n    return x + x" and nb.cells[2].outputs == []
    assert "points" not in nb.cells[2].metadata["nbgrader"]
    assert nb.cells[3].source.strip() == "assert f(1) == 2, 'f(1) should be 2'"
    assert "f(5)" not in json.dumps(nb) and "HIDDEN" not in json.dumps(nb)
    assert restored.tests == {3: "q1_test", 5: "q3_test"}
    assert restored.blank == {"q2_written"} and restored.notes == []


def test_edited_deleted_duplicated_and_foreign_cells():
    src = _source()
    sub = _released(src)
    sub.cells[3].source = "assert True"  # edited test
    sub.cells[1].source = "import math, os"  # edited read-only cell
    extra = new_code_cell("helper = 3")  # the student's own cell stays, in place
    dup = copy.deepcopy(sub.cells[2])
    dup.source = "f = lambda x: 0"
    foreign = new_code_cell("x = 1", metadata=_meta("not_in_assignment", grade=True, points=5))
    cells = [c for c in sub.cells if c.metadata["nbgrader"]["grade_id"] not in ("q3_test", "q2_written")]
    sub.cells = cells[:3] + [extra, cells[3], dup, foreign]
    sub.metadata["kernelspec"] = {"name": "evil", "display_name": "x", "language": "python"}
    restored = restore_notebook(sub, src)
    nb = restored.notebook
    assert _ids(nb) == ["intro", "setup", "q1_answer", None, "q1_test", "q2_written", "q3_test", None, None]
    assert nb.cells[4].source.strip() == "assert f(1) == 2, 'f(1) should be 2'"
    assert nb.cells[1].source == "import math"
    assert nb.cells[7].source == "f = lambda x: 0" and "nbgrader" not in nb.cells[7].metadata
    assert "added back" in nb.cells[5].source  # a deleted written answer: back, with a note, not blank
    assert restored.tests == {4: "q1_test", 6: "q3_test"} and "q2_written" not in restored.blank
    assert nb.metadata.kernelspec["name"] == COURSE_KERNEL
    notes = "; ".join(restored.notes)
    assert "restored edited locked cell(s) q1_test, setup" in notes
    assert "restored deleted cell(s) q2_written, q3_test" in notes
    assert "kernel 'evil'" in notes and "not_in_assignment" in notes and "q1_answer" in notes


def test_changed_cell_type_and_the_release_file_win():
    src = _source()
    sub = _released(src)
    sub.cells[2] = new_markdown_cell(sub.cells[2].source, metadata=copy.deepcopy(sub.cells[2].metadata))
    released = _released(src)
    released.cells[3].source = "assert f(1) == 2, 'released text'"
    restored = restore_notebook(sub, src, released)
    assert restored.notebook.cells[2].cell_type == "code"
    assert restored.notebook.cells[3].source == "assert f(1) == 2, 'released text'"
    assert "q1_answer" not in restored.blank  # the type changed: not the released cell any more
