"""collect against a hostile student and a careless instructor: each file belongs to exactly one
student by one unambiguous rule (the download's own format decides), anything ambiguous is
reported as an error and filed nowhere (nothing is overwritten), and links are never followed."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest

from chemdl_utils.cli import main
from chemdl_utils.grading.collect import collect_submissions, detect_format, identity_key, load_mapping

OLD = (2026, 11, 20, 10, 0, 0)
NEW = (2026, 11, 21, 10, 0, 0)


def _zip(path, files):
    """A zip of ``{name: (bytes, date_time)}``; ``(bytes, date_time, 'symlink')`` makes a symlink entry."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, spec in files.items():
            info = zipfile.ZipInfo(name, date_time=spec[1])
            if len(spec) > 2 and spec[2] == "symlink":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                info.create_system = 3
            zf.writestr(info, spec[0])
    return path


def _args(course):
    return ["--course", str(course.root), "--workspace", str(course.workspace)]


def _submitted(course, student, name="toy.ipynb"):
    return (course.submitted_dir / student / "toy" / name).read_bytes()


# ---------------------------------------------------------------- one student replacing another


def test_canvas_file_named_like_a_moodle_file_stays_with_its_uploader(course, tmp_path):
    """Canvas names an upload ``<name>_<userid>_<subid>_<original name>``; an original name that looks
    like another student's Moodle file must not be read as Moodle (the victim's submission stays)."""
    archive = _zip(tmp_path / "canvas.zip", {
        "doejane_12345_1000_toy.ipynb": (b'{"victim": 1}', OLD),
        "mallory_555_1001_Doe Jane_12345_assignsubmission_file_toy.ipynb": (b'{"attacker": 1}', NEW),
    })
    report = collect_submissions(course, "toy", archive)
    assert _submitted(course, "12345") == b'{"victim": 1}'
    assert set(report.collected) == {"12345", "555"}
    assert report.collected["555"] == ["Doe Jane_12345_assignsubmission_file_toy.ipynb"]
    assert not report.errors


def test_download_format_is_decided_once():
    canvas = ["doejane_12345_1000_toy.ipynb", "mallory_555_1001_Doe Jane_12345_assignsubmission_file_toy.ipynb"]
    moodle = ["Doe Jane_12345_assignsubmission_file_toy.ipynb", "Roe Rick_777_assignsubmission_file_/toy.ipynb"]
    assert detect_format(canvas) == ("canvas", [])
    assert detect_format(moodle) == ("moodle", [])
    assert detect_format(["jdoe_toy.ipynb", "bob/toy.ipynb"]) == ("plain", [])
    fmt, problems = detect_format(canvas[:1] + moodle[:1])
    assert fmt is None and "both Moodle and Canvas" in problems[0]
    fmt, problems = detect_format(["a_1_2_555_assignsubmission_file_toy.ipynb"])  # fits both patterns
    assert fmt is None and "--format" in problems[0]


def test_mixed_download_is_refused_and_changes_nothing(course, tmp_path, capsys):
    src = tmp_path / "first"
    src.mkdir()
    (src / "12345_toy.ipynb").write_bytes(b'{"victim": 1}')
    assert collect_submissions(course, "toy", src).collected == {"12345": ["toy.ipynb"]}
    archive = _zip(tmp_path / "mixed.zip", {
        "doejane_777_1000_toy.ipynb": (b'{"canvas": 1}', NEW),
        "Mallory_12345_assignsubmission_file_toy.ipynb": (b'{"attacker": 1}', NEW),
    })
    report = collect_submissions(course, "toy", archive)
    assert not report.collected and len(report.errors) == 2
    assert _submitted(course, "12345") == b'{"victim": 1}'
    assert main(["grade", "collect", "toy", str(archive), *_args(course)]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "2 error(s)" in out
    # the instructor says which format it is: then each file is parsed by that rule only
    report = collect_submissions(course, "toy", archive, fmt="canvas")
    assert report.collected == {"777": ["toy.ipynb"]}
    assert "not a Canvas file name" in dict(report.unmatched)["Mallory_12345_assignsubmission_file_toy.ipynb"]
    assert _submitted(course, "12345") == b'{"victim": 1}'


def test_two_lms_accounts_for_one_student_are_an_error(course, tmp_path):
    """Roster by name only: a second Moodle account that calls itself "Doe Jane" maps to jdoe too.
    Neither file is filed, and jdoe's earlier submission is not overwritten."""
    mapping = tmp_path / "roster.csv"
    mapping.write_text("student_id,name\njdoe,Doe Jane\n")
    first = _zip(tmp_path / "first.zip", {"Doe Jane_12345_assignsubmission_file_toy.ipynb": (b'{"jane": 1}', OLD)})
    assert collect_submissions(course, "toy", first, mapping).collected == {"jdoe": ["toy.ipynb"]}
    second = _zip(tmp_path / "second.zip", {
        "Doe Jane_12345_assignsubmission_file_toy.ipynb": (b'{"jane": 2}', NEW),
        "Doe Jane_999_assignsubmission_file_toy.ipynb": (b'{"attacker": 1}', NEW),
    })
    report = collect_submissions(course, "toy", second, mapping)
    assert not report.collected
    errors = dict(report.errors)
    assert "12345" in errors["Doe Jane_999_assignsubmission_file_toy.ipynb"]
    assert "999" in errors["Doe Jane_12345_assignsubmission_file_toy.ipynb"]
    assert _submitted(course, "jdoe") == b'{"jane": 1}'


def test_duplicate_names_in_the_roster_are_ambiguous(course, tmp_path):
    mapping = tmp_path / "roster.csv"
    mapping.write_text("student_id,name\njdoe,Doe Jane\njdoe2,doe  jane\n")
    archive = _zip(tmp_path / "m.zip", {"Doe Jane_1_assignsubmission_file_toy.ipynb": (b"{}", OLD)})
    report = collect_submissions(course, "toy", archive, mapping)
    assert not report.collected
    why = dict(report.errors)["Doe Jane_1_assignsubmission_file_toy.ipynb"]
    assert "jdoe" in why and "jdoe2" in why


# ---------------------------------------------------------------- names in every script


def test_identity_keys_keep_non_latin_letters():
    assert identity_key("王芳") == "王芳" and identity_key("李雷") == "李雷"
    assert identity_key("Doe, Jane") == identity_key("doe jane") == "doejane"
    assert identity_key("Ｄｏｅ Ｊａｎｅ") == "doejane"  # NFKC: full-width letters
    assert identity_key("Straße") == identity_key("STRASSE")  # casefold
    assert identity_key("Müller") != identity_key("Muller")
    assert identity_key("---") == ""


def test_non_latin_names_map_to_their_own_students(course, tmp_path):
    mapping = tmp_path / "roster.csv"
    mapping.write_text("student_id,name\nwangfang,王芳\nlilei,李雷\n", encoding="utf-8")
    keys = load_mapping(mapping)
    assert keys["name:王芳"] == "wangfang" and keys["name:李雷"] == "lilei" and "name:" not in keys
    archive = _zip(tmp_path / "moodle.zip", {
        "王芳_111_assignsubmission_file_toy.ipynb": (b'{"wang": 1}', OLD),
        "李雷_222_assignsubmission_file_toy.ipynb": (b'{"li": 1}', NEW),
        "Иванов Иван_333_assignsubmission_file_toy.ipynb": (b'{"ivanov": 1}', NEW),
    })
    report = collect_submissions(course, "toy", archive, mapping)
    assert report.collected == {"wangfang": ["toy.ipynb"], "lilei": ["toy.ipynb"]}
    assert _submitted(course, "wangfang") == b'{"wang": 1}' and _submitted(course, "lilei") == b'{"li": 1}'
    assert "not in the mapping" in dict(report.unmatched)["Иванов Иван_333_assignsubmission_file_toy.ipynb"]


def test_a_name_with_no_letters_matches_nobody(course, tmp_path):
    mapping = tmp_path / "roster.csv"
    mapping.write_text("student_id,name\nsomeone,---\n")
    archive = _zip(tmp_path / "m.zip", {"..._1_assignsubmission_file_toy.ipynb": (b"{}", OLD)})
    report = collect_submissions(course, "toy", archive, mapping)
    assert not report.collected and report.unmatched


# ---------------------------------------------------------------- links are never followed


def test_symlink_in_a_folder_submission_is_not_followed(course, tmp_path):
    private = tmp_path / "private.txt"
    private.write_text("instructor secret 42")
    src = tmp_path / "downloads"
    (src / "amy").mkdir(parents=True)
    (src / "amy" / "toy.ipynb").write_text("{}")
    (src / "amy" / "data.txt").symlink_to(private)
    (src / "bob_toy.ipynb").symlink_to(private)
    (src / "carl").symlink_to(tmp_path)  # a linked folder
    report = collect_submissions(course, "toy", src)
    assert report.collected == {"amy": ["toy.ipynb"]}
    errors = dict(report.errors)
    assert set(errors) == {"amy/data.txt", "bob_toy.ipynb", "carl"}
    assert all("symbolic link" in why for why in errors.values())
    written = b"".join(p.read_bytes() for p in course.submitted_dir.rglob("*") if p.is_file())
    assert b"instructor secret" not in written


def test_hard_link_to_a_file_outside_the_download_is_refused(course, tmp_path):
    private = tmp_path / "private.txt"
    private.write_text("instructor secret 42")
    src = tmp_path / "downloads"
    (src / "amy").mkdir(parents=True)
    (src / "amy" / "toy.ipynb").write_text("{}")
    try:
        os.link(private, src / "amy" / "data.txt")
    except OSError as exc:  # pragma: no cover - file systems without hard links
        pytest.skip(f"no hard links here: {exc}")
    (src / "bob").mkdir()
    (src / "bob" / "toy.ipynb").write_text('{"bob": 1}')
    os.link(src / "bob" / "toy.ipynb", src / "bob" / "copy.ipynb")  # both names inside: fine
    report = collect_submissions(course, "toy", src)
    assert "hard link" in dict(report.errors)["amy/data.txt"]
    assert report.collected == {"amy": ["toy.ipynb"], "bob": ["copy.ipynb", "toy.ipynb"]}
    assert not (course.submitted_dir / "amy" / "toy" / "data.txt").exists()


def test_zip_symlink_and_escaping_entries_are_refused(course, tmp_path):
    archive = _zip(tmp_path / "evil.zip", {
        "amy/toy.ipynb": (b"{}", OLD),
        "amy/secret.txt": (b"/etc/passwd", OLD, "symlink"),
        "bob/../../../evil.ipynb": (b"{}", OLD),
        "carl\\..\\..\\evil.ipynb": (b"{}", OLD),
        "/abs/evil.ipynb": (b"{}", OLD),
    })
    report = collect_submissions(course, "toy", archive)
    assert report.collected == {"amy": ["toy.ipynb"]}
    errors = dict(report.errors)
    assert "symbolic link" in errors["amy/secret.txt"]
    assert all("unsafe path" in errors[n] for n in ("bob/../../../evil.ipynb", "carl\\..\\..\\evil.ipynb",
                                                    "/abs/evil.ipynb"))
    assert not (course.submitted_dir / "amy" / "toy" / "secret.txt").exists()
    assert not list(tmp_path.rglob("evil.ipynb"))


# ---------------------------------------------------------------- what reaches the terminal


def test_terminal_escapes_in_file_names_are_not_printed(course, tmp_path, capsys):
    archive = _zip(tmp_path / "esc.zip", {
        "amy_toy.ipynb": (b"{}", OLD),
        "amy_notes\x1b]0;pwned\x07\x1b[2J.txt": (b"x", OLD),
        "README\x1b[31m\x9b2J": (b"x", OLD),
    })
    assert main(["grade", "collect", "toy", str(archive), *_args(course)]) == 0
    out = capsys.readouterr().out
    assert "amy" in out and "README" in out
    assert not any(ch in out for ch in "\x1b\x07\x9b")
    assert (course.submitted_dir / "amy" / "toy" / "notes\x1b]0;pwned\x07\x1b[2J.txt").read_bytes() == b"x"


def test_a_copied_display_name_does_not_reach_a_student_with_a_known_id(course, tmp_path):
    """The roster gives jdoe LMS id 12345; an account 999 calling itself "Doe Jane" is not jdoe,
    even while jdoe has not submitted yet."""
    mapping = tmp_path / "roster.csv"
    mapping.write_text("student_id,lms_id,name\njdoe,12345,Doe Jane\nrroe,,Roe Rick\n")
    archive = _zip(tmp_path / "m.zip", {
        "Doe Jane_999_assignsubmission_file_toy.ipynb": (b'{"attacker": 1}', NEW),
        "Roe Rick_777_assignsubmission_file_toy.ipynb": (b'{"rick": 1}', NEW),
    })
    report = collect_submissions(course, "toy", archive, mapping)
    assert report.collected == {"rroe": ["toy.ipynb"]}  # no lms_id in the roster: the name decides
    assert "12345" in dict(report.errors)["Doe Jane_999_assignsubmission_file_toy.ipynb"]
    assert not (course.submitted_dir / "jdoe").exists() and report.no_submission == ["jdoe"]


def test_a_moodle_name_with_two_owner_marks_is_refused(course, tmp_path):
    """Moodle's name and upload are both the student's: '<name>_<id>_assignsubmission_file_<upload>'
    with a second '_<id>_assignsubmission_' inside could be read as either id."""
    archive = _zip(tmp_path / "m.zip", {
        "Doe Jane_12345_assignsubmission_file_toy.ipynb": (b'{"victim": 1}', OLD),
        "Mallory_555_assignsubmission_file_Doe Jane_12345_assignsubmission_file_toy.ipynb": (b"{}", NEW),
        "X_12345_assignsubmission_file_555_assignsubmission_file_toy.ipynb": (b"{}", NEW),
    })
    report = collect_submissions(course, "toy", archive)
    assert report.collected == {"12345": ["toy.ipynb"]} and _submitted(course, "12345") == b'{"victim": 1}'
    assert len(report.errors) == 2 and all("ambiguous" in why for _, why in report.errors)


def test_one_student_in_both_plain_layouts_is_one_identity(course, tmp_path):
    src = tmp_path / "d"
    (src / "amy").mkdir(parents=True)
    (src / "amy" / "toy.ipynb").write_text("{}")
    (src / "amy_notes.txt").write_text("n")
    report = collect_submissions(course, "toy", src)
    assert report.collected == {"amy": ["notes.txt", "toy.ipynb"]} and report.ok
