"""collect: LMS file names -> student ids, zip and folder input, mapping CSV, unmatched files, timestamps."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from chemdl_utils.grading.collect import (
    collect_submissions,
    load_mapping,
    parse_submission_name,
    read_timestamp,
)


@pytest.mark.parametrize(
    "path, key, filename, style",
    [
        ("Doe Jane_12345_assignsubmission_file_toy.ipynb", "12345", "toy.ipynb", "moodle"),
        ("Doe Jane_12345_assignsubmission_file_/toy.ipynb", "12345", "toy.ipynb", "moodle"),
        ("doejane_4321_998877_toy.ipynb", "4321", "toy.ipynb", "canvas"),
        ("doejane_LATE_4321_998877_toy-1.ipynb", "4321", "toy.ipynb", "canvas"),
        ("jdoe_toy.ipynb", "jdoe", "toy.ipynb", "plain"),
        ("j_doe_2_toy.ipynb", "j_doe_2", "toy.ipynb", "plain"),
        ("jdoe/toy.ipynb", "jdoe", "toy.ipynb", "folder"),
        ("jdoe/data/extra.csv", "jdoe", "data/extra.csv", "folder"),
    ],
)
def test_parse_submission_name(path, key, filename, style):
    parsed = parse_submission_name(path, ("toy",))
    assert (parsed.key, parsed.filename, parsed.style) == (key, filename, style)


def test_parse_names_nobody():
    assert parse_submission_name("README.txt", ("toy",)) is None


def _zip(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, when) in files.items():
            info = zipfile.ZipInfo(name, date_time=when)
            zf.writestr(info, data)
    return path


def test_moodle_zip_with_mapping(course, tmp_path):
    nb = (course.release_dir / "toy" / "toy.ipynb").read_bytes()
    archive = _zip(tmp_path / "moodle.zip", {
        "Doe Jane_12345_assignsubmission_file_toy.ipynb": (nb, (2026, 11, 20, 10, 0, 0)),
        "Roe Rick_777_assignsubmission_file_/toy.ipynb": (nb, (2026, 11, 21, 9, 30, 0)),
        "Roe Rick_777_assignsubmission_file_/notes.txt": (b"hi", (2026, 11, 21, 9, 0, 0)),
        "Stranger Sam_999_assignsubmission_file_toy.ipynb": (nb, (2026, 11, 20, 10, 0, 0)),
        "__MACOSX/._junk": (b"", (2026, 11, 20, 10, 0, 0)),
        "../evil.ipynb": (nb, (2026, 11, 20, 10, 0, 0)),
    })
    mapping = tmp_path / "map.csv"
    mapping.write_text("student_id,lms_id,name\njdoe,12345,\nrroe,,Roe Rick\nabsent,555,Nobody Here\n")
    report = collect_submissions(course, "toy", archive, mapping)
    assert report.collected == {"jdoe": ["toy.ipynb"], "rroe": ["notes.txt", "toy.ipynb"]}
    unmatched = dict(report.unmatched)
    assert "999" in unmatched["Stranger Sam_999_assignsubmission_file_toy.ipynb"]
    assert "unsafe path" in dict(report.errors)["../evil.ipynb"] and "../evil.ipynb" not in unmatched
    assert report.no_submission == ["absent"]
    folder = course.submitted_dir / "rroe" / "toy"
    assert (folder / "toy.ipynb").read_bytes() == nb and (folder / "notes.txt").read_text() == "hi"
    assert read_timestamp(folder) == dt.datetime(2026, 11, 21, 9, 30)
    assert any(line.startswith("UNMATCHED Stranger Sam") for line in report.lines())
    assert any(line.startswith("ERROR ../evil.ipynb: unsafe path") for line in report.lines())
    assert report.format == "moodle" and not report.ok
    assert not (course.workspace.parent / "evil.ipynb").exists()


def test_plain_folder_without_mapping_and_duplicates(course, tmp_path):
    src = tmp_path / "downloads"
    src.mkdir()
    (src / "amy_toy.ipynb").write_text("{}")
    (src / "bob").mkdir()
    (src / "bob" / "toy.ipynb").write_text("{}")
    (src / "README").write_text("no student here")
    report = collect_submissions(course, "toy", src)
    assert set(report.collected) == {"amy", "bob"}
    assert [name for name, _ in report.unmatched] == ["README"]
    again = collect_submissions(course, "toy", src)
    assert sorted(again.unchanged) == ["amy", "bob"] and not again.collected


def test_zip_with_a_wrapping_folder(course, tmp_path):
    archive = _zip(tmp_path / "wrapped.zip", {
        "neurons-submissions/amy_toy.ipynb": (b"{}", (2026, 11, 20, 10, 0, 0)),
        "neurons-submissions/bob_toy.ipynb": (b"{}", (2026, 11, 20, 11, 0, 0)),
        "__MACOSX/neurons-submissions/._amy_toy.ipynb": (b"", (2026, 11, 20, 10, 0, 0)),
    })
    assert set(collect_submissions(course, "toy", archive).collected) == {"amy", "bob"}
    single = _zip(tmp_path / "single.zip", {"carl/toy.ipynb": (b"{}", (2026, 11, 20, 10, 0, 0))})
    assert collect_submissions(course, "toy", single).collected == {"carl": ["toy.ipynb"]}


def test_dry_run_writes_nothing(course, tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    (src / "amy_toy.ipynb").write_text("{}")
    report = collect_submissions(course, "toy", src, dry_run=True)
    assert report.collected == {"amy": ["toy.ipynb"]}
    assert not (course.submitted_dir / "amy").exists()


def test_mapping_errors(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("id,email\n1,a@b\n")
    with pytest.raises(ValueError, match="needs a 'student_id' column"):
        load_mapping(bad)
    with pytest.raises(FileNotFoundError, match="mapping file"):
        load_mapping(tmp_path / "none.csv")


def test_source_errors(course, tmp_path):
    with pytest.raises(FileNotFoundError, match="do not exist"):
        collect_submissions(course, "toy", tmp_path / "nothing")
    junk = tmp_path / "x.txt"
    junk.write_text("x")
    with pytest.raises(ValueError, match="neither a folder nor a zip"):
        collect_submissions(course, "toy", junk)
