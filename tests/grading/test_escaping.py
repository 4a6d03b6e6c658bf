"""What a student chose never runs on the instructor's screen: feedback HTML keeps only allow-listed
markup (no scripts, event handlers, ``javascript:`` URLs), and nothing printed or exported carries
terminal escape sequences."""

from __future__ import annotations

import base64
import re
import copy
import csv
import zlib
from html.parser import HTMLParser

import nbformat
from fixture_course import answered, released_notebook

from chemdl_utils.cli import main
from chemdl_utils.grading.autograde import autograde_assignment
from chemdl_utils.grading.collect import write_timestamp
from chemdl_utils.grading.export import export_grades, export_history
from chemdl_utils.grading.feedback import generate_feedback
from chemdl_utils.grading.safe_text import csv_cell, printable, sanitize_html

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1;1H\x1b]8;;https://evil.example\x1b\\"
NAME_ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1;1H"  # the same, as a file name may hold them (no '/')


def _png() -> bytes:
    """A valid 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


class _Page(HTMLParser):
    """Every tag with its attributes, and the text inside each script."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.text.append(data)

    def live_problems(self) -> list[str]:
        """Anything that would run or load: any script, on* handlers, js URLs, embedded content."""
        out = []
        for attrs, text in self.scripts:
            out.append(f"script {attrs} {text[:80]!r}")
        for tag, attrs in self.tags:
            for name, value in attrs.items():
                if name.lower().startswith("on"):
                    out.append(f"<{tag} {name}=...>")
                if name.lower() in ("href", "src", "action", "formaction", "xlink:href", "data") and value \
                        and not value.startswith(("data:image/png;base64,", "data:image/jpeg;base64,", "#",
                                                  "https://", "http://", "mailto:")):
                    out.append(f"<{tag} {name}={value[:60]!r}>")
            if tag in ("iframe", "object", "embed", "svg", "form", "base", "meta", "link") and \
                    not (tag == "meta" and set(attrs) <= {"charset", "http-equiv", "content"}):
                out.append(f"<{tag}>")
        return out


# ------------------------------------------------------------------------------------------ units


def test_printable_strips_escapes_and_controls():
    text = "ok\x1b[31mred\x1b[0m " + ESCAPES + "end\r\nline2\tcol \x00\x07\x08\x7f\x85 王芳 Ивaн \u202eexe.txt"
    out = printable(text)
    assert out == "okred end\nline2\tcol  王芳 Ивaн exe.txt"
    assert printable("plain text") == "plain text" and printable(3) == "3"
    assert printable("\x1b]0;unterminated title") == ""  # an unterminated OSC swallows the rest


def test_csv_cell_defuses_formulas():
    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_cell("+1") == "'+1" and csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("a\x1b[2Jb") == "ab" and csv_cell(-2.5) == -2.5 and csv_cell(None) is None


def test_sanitize_html_allow_list():
    png = base64.b64encode(_png()).decode()
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>toy &amp; co</title>
    <style>body {{ color: black; }}</style><script>window.HEAD=1</script></head>
    <body><a name="top"></a><div class="panel">
    <script>window.XSS=1</script><img src=x onerror="window.XSS=2"><IMG SRC="javascript:alert(1)">
    <a href="javascript:alert(1)">js</a><a href="#top">top</a><a href="https://example.org">ok</a>
    <a href="data:text/html;base64,PHNjcmlwdD4=">d</a><img src="data:image/svg+xml;base64,PHN2Zz4=">
    <svg onload="window.XSS=3"><circle/></svg><iframe src="https://evil.example"></iframe>
    <form action="https://evil.example"><input name=x></form><style>.x{{background:url(https://e)}}</style>
    <div style="position:fixed" onmouseover="window.XSS=4">hover</div><base href="https://evil.example/">
    <table class="dataframe"><tr><th>a</th></tr><tr><td colspan="2">KEEP-CELL</td></tr></table>
    <img src="data:image/png;base64,{png}" alt="plot"><p>$E = mc^2$ and \\(x &lt; y\\)</p>
    <a id="MathJax"></a><a id="MathJax" name="config" href="https://evil.example/x.js">clobber</a>
    <!-- <script>window.XSS=5</script> --><p>{ESCAPES}after</p></div></body></html>"""
    out = sanitize_html(page)
    parsed = _Page(out)
    assert parsed.live_problems() == []
    text = "".join(parsed.text)
    assert "KEEP-CELL" in text and "hover" in text
    # the two formulas are MathML now: E = mc^2 and x < y, drawn by the browser without a script
    assert [t for t, _ in parsed.tags].count("math") == 2 and "$" not in text and "\\(" not in text
    assert "<mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup>" in out and "<mo>&lt;</mo>" in out
    assert ("img", {"src": f"data:image/png;base64,{png}", "alt": "plot"}) in parsed.tags
    assert ("td", {"colspan": "2"}) in parsed.tags and ("table", {"class": "dataframe"}) in parsed.tags
    assert ("a", {"href": "#user-content-top", "rel": "noopener noreferrer nofollow"}) in parsed.tags
    assert ("a", {"name": "user-content-top", "rel": "noopener noreferrer nofollow"}) in parsed.tags
    assert "<title>toy &amp; co</title>" in out and "body { color: black; }" in out  # the template's head
    assert "window.HEAD" not in out and "XSS" not in out and "\x1b" not in out and "background:url" not in out
    assert not [a for _, a in parsed.tags if a.get("id") == "MathJax" or a.get("name") == "config"]
    csp = re.search(r'Content-Security-Policy" content="([^"]*)"', out).group(1)
    assert csp.startswith("default-src 'none';") and "script-src" not in csp and "http" not in csp


def test_sanitize_html_of_a_fragment():
    out = sanitize_html("<b>bold</b><script>x=1</script>")
    assert "<b>bold</b>" in out and "x=1" not in out and out.startswith("<!DOCTYPE html>")


# ------------------------------------------------------------------------------------------ end to end


def _hostile(release) -> nbformat.NotebookNode:
    """A correct submission whose outputs and written answer try to run code in the feedback page."""
    nb = answered(copy.deepcopy(release))
    png = base64.b64encode(_png()).decode()
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "q3_answer":
            cell.source += (
                "\n\nimport base64\nfrom IPython.display import HTML, Javascript, Image, display\n"
                "display(HTML('<script>window.XSS_HTML=1</script><img src=x onerror=\"window.XSS_IMG=1\">'\n"
                "             '<table><tr><td>KEEP-TABLE-CELL</td></tr></table>'))\n"
                "display(Javascript('window.XSS_JS=1'))\n"
                f"display(Image(data=base64.b64decode('{png}')))\n"
                "print('\\x1b]0;pwned\\x07\\x1b[2Jterminal-text')\n"
            )
        if gid == "q4_explain":
            cell.source = ("Isotopes: $E = mc^2$ <script>window.XSS_MD=1</script>\n\n"
                           "<img src=x onerror=\"window.XSS_MDIMG=1\"> <a href=\"javascript:window.XSS_A=1\">a</a>")
    return nb


def test_feedback_html_has_nothing_live(course, limits):
    target = course.submitted_dir / "s_xss" / "toy"
    target.mkdir(parents=True)
    nbformat.write(_hostile(released_notebook(course)), str(target / "toy.ipynb"))
    write_timestamp(target, "2026-11-20 12:00:00.000000 UTC")
    summary = autograde_assignment(course, "toy", workers=1, limits=limits, show_progress=False)
    assert summary.get("s_xss").status == "graded" and summary.get("s_xss").score == 7.0
    page = generate_feedback(course, "toy", ["s_xss"])["s_xss"][0].read_text(encoding="utf-8")
    parsed = _Page(page)
    assert parsed.live_problems() == []
    assert "\x1b" not in page and "\x07" not in page
    text = "".join(parsed.text)
    assert "KEEP-TABLE-CELL" in text and "terminal-text" in text
    # the student's TeX is MathML in the page (no script needed to see it), the hostile parts are gone
    assert "Isotopes: <math display=\"inline\"><mrow><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn>" in page
    assert any(tag == "img" and a.get("src", "").startswith("data:image/png;base64,") for tag, a in parsed.tags)
    assert ("td", {}) in parsed.tags or any(tag == "td" for tag, _ in parsed.tags)
    assert "q3_test" in text  # still nbgrader's feedback: graded cells and scores
    assert "7.0" in text


def test_terminal_escapes_never_reach_the_terminal_or_the_csv(course, limits, capsys, tmp_path):
    target = course.submitted_dir / "s_esc" / "toy"
    target.mkdir(parents=True)
    (target / f"notes{NAME_ESCAPES}.txt").write_text("no notebook here")
    write_timestamp(target, "2026-11-20 12:00:00.000000 UTC")
    args = ["--course", str(course.root), "--workspace", str(course.workspace)]
    assert main(["grade", "autograde", "toy", "--workers", "1", "--cell-timeout", "5", *args]) == 0
    out = capsys.readouterr()
    assert "s_esc" in out.out and "missing" in out.out and "notes" in out.out
    assert not any(ch in out.out + out.err for ch in "\x1b\x07\x9b")
    history = list(csv.DictReader(export_history(course, tmp_path / "h.csv", "toy").open(encoding="utf-8")))
    assert history and "notes" in history[-1]["reason"] and "\x1b" not in history[-1]["reason"]
    grades = (export_grades(course, tmp_path / "g.csv", ["toy"])).read_text(encoding="utf-8")
    assert "s_esc" in grades and "\x1b" not in grades


def test_cli_output_goes_through_printable(course, capsys, tmp_path):
    """The CLI prints paths it was given: a folder name with escapes is printed without them."""
    out_dir = tmp_path / f"out{NAME_ESCAPES}"
    args = ["--course", str(course.root), "--workspace", str(course.workspace)]
    assert main(["grade", "export", "-o", str(out_dir / "g.csv"), *args]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "/out/g.csv" in out  # the whole OSC title string and each CSI are gone
    assert not any(ch in out for ch in "\x1b\x07\x9b")
