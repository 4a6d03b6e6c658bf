"""A term of the course on JupyterHub, end to end, in a real browser.

A JupyterHub (``deploy/jupyterhub/jupyterhub_config.py``, the file a real deployment uses, switched
to its test settings by environment variables) runs on 127.0.0.1 with configurable-http-proxy from
``node_modules/``, an instructor and two students (shared-password authenticator, every server a
``SimpleLocalProcessSpawner`` process with its own home folder under tmp), and nbgrader's exchange
in tmp, configured by ``deploy/jupyterhub/jupyter/nbgrader_config.py``.

* The instructor and both students log in in Chromium (each gets their own JupyterLab server;
  students get the student profile ``deploy/student/exchange``: no Formgrader). The instructor,
  in a terminal of their hub server (the test runs the commands with that server's environment,
  read from the process), types ``nbgrader release_assignment neurons`` in their clone of the course.
* Each student opens Nbgrader > Assignment List, fetches ``neurons``, saves
  answers (the contents API, what JupyterLab's save does: alice all of them, bob three), opens the
  notebook from the Assignments tab, validates it with the notebook's Validate button, and submits
  with the Assignments tab's Submit.
* The instructor: ``nbgrader collect neurons``, ``chemdl grade autograde neurons``,
  ``chemdl grade feedback neurons``, ``nbgrader release_feedback neurons``.
* Each student, in Chromium: Fetch Feedback in the Assignments tab, "view feedback", opens the
  feedback page, and sees their own score and none of the hidden tests' source.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "jupyterhub"
HUB_CONFIG = DEPLOY / "jupyterhub_config.py"
STUDENT_PROFILE = REPO / "deploy" / "student" / "exchange"   # the hub uses it for students when present
CHP = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
CHROMIUM = Path(os.environ.get("CHEMDL_CHROMIUM", "/usr/bin/chromium"))
VENV_BIN = Path(sys.executable).parent

ASSIGNMENT = "neurons"
COURSE_ID = "chemdl"
INSTRUCTOR = "instructor"
FULL, PARTIAL = "alice", "bob"                # alice answers everything, bob only Q1-Q3
PARTIAL_ANSWERS = ("q1-neuron-forward", "q2-activations", "q3-backprop")
STUDENT_PASSWORD = "chem-student-" + uuid.uuid4().hex[:8]
INSTRUCTOR_PASSWORD = "chem-instructor-" + uuid.uuid4().hex   # 32+ characters for an admin


LAB_TIMEOUT = 180_000       # ms: spawning a JupyterLab server and loading it on a busy 2-core machine
ACTION_TIMEOUT = 120_000    # ms: fetch, submit, refresh
VALIDATE_TIMEOUT = 300_000  # ms: validation executes the whole notebook in the student's server


def _missing() -> str | None:
    """What the test needs and the machine lacks (installed by `make venv` / `make sysdeps`)."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: run `make sysdeps` as root (apt-get install -y chromium)"
    if shutil.which("node") is None:
        return "node is missing: install nodejs (configurable-http-proxy runs on it)"
    if not CHP.exists():
        return f"{CHP} is missing: run `npm ci` in {REPO} (package.json pins configurable-http-proxy)"
    for module in ("jupyterhub", "playwright", "nbgrader"):
        try:
            __import__(module)
        except ImportError:
            return f"python package {module} is missing: pip install -e '.[test]' (make venv)"
    if not (VENV_BIN / "jupyterhub-singleuser").exists():
        return f"{VENV_BIN / 'jupyterhub-singleuser'} is missing: pip install jupyterhub"
    return None


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _processes_with(marker: str) -> list[int]:
    """Pids of the processes whose environment holds ``CHEMDL_HUB_RUN_ID=marker``."""
    needle = f"CHEMDL_HUB_RUN_ID={marker}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _stop_everything(hub: subprocess.Popen, marker: str) -> None:
    """Stop the hub (it stops the proxy and the users' servers), then anything left of this run."""
    if hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=30)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait(timeout=10)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = _processes_with(marker)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = _processes_with(marker)
        if not left:
            return
    raise AssertionError(f"processes of the test hub still running after SIGKILL: {left}")


class Hub:
    """The running hub, its folders and the environment of its accounts."""

    def __init__(self, root: Path, port: int, marker: str, env: dict[str, str]):
        self.root = root
        self.url = f"http://127.0.0.1:{port}"
        self.marker = marker
        self.env = env
        self.homes = root / "home"
        self.exchange = root / "exchange"
        self.log = root / "jupyterhub.log"

    def home(self, user: str) -> Path:
        return self.homes / user

    def terminal_env(self, user: str) -> dict[str, str]:
        """The environment of a terminal in ``user``'s running hub server: read from the server
        process itself (a terminal inherits it), so it is what jupyterhub_config.py gave it."""
        for pid in _processes_with(self.marker):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            env = dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
            if b"jupyterhub-singleuser" in cmdline and env.get("JUPYTERHUB_USER") == user:
                return env
        raise AssertionError(f"no running server of {user} (log in first); hub log:\n{self.log_tail()}")

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no hub log)"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    why = _missing()
    if why:
        pytest.skip(f"UNAVAILABLE: JupyterHub course test not run: {why}")
    root = tmp_path_factory.mktemp("hub")
    port, proxy_api, hub_api = _free_ports(3)
    marker = uuid.uuid4().hex
    env = dict(os.environ)
    env.update(
        CHEMDL_HUB_IP="127.0.0.1", CHEMDL_HUB_PORT=str(port), CHEMDL_HUB_API_PORT=str(hub_api),
        CHEMDL_HUB_PROXY_API_PORT=str(proxy_api), CHEMDL_HUB_STATE=str(root / "state"),
        CHEMDL_HUB_INSTRUCTORS=INSTRUCTOR, CHEMDL_HUB_STUDENTS=f"{FULL} {PARTIAL}",
        CHEMDL_HUB_AUTH="shared-password", CHEMDL_HUB_STUDENT_PASSWORD=STUDENT_PASSWORD,
        CHEMDL_HUB_INSTRUCTOR_PASSWORD=INSTRUCTOR_PASSWORD,
        CHEMDL_HUB_SPAWNER="simple", CHEMDL_HUB_HOMES=str(root / "home"),
        CHEMDL_EXCHANGE_ROOT=str(root / "exchange"), CHEMDL_COURSE_ID=COURSE_ID,
        CHEMDL_HUB_RUN_ID=marker, CHEMDL_PROGRESS="0",
    )
    h = Hub(root, port, marker, env)
    # the exchange: a folder every account may write, as on a real hub (install -d -m 1777)
    h.exchange.mkdir(mode=0o1777)
    h.exchange.chmod(0o1777)
    with h.log.open("w") as log:
        proc = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(HUB_CONFIG)], cwd=root, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while "JupyterHub is now running" not in h.log.read_text(errors="replace"):
            assert proc.poll() is None, f"jupyterhub exited with {proc.returncode}:\n{h.log_tail()}"
            assert time.monotonic() < deadline, f"jupyterhub did not start in 90 s:\n{h.log_tail()}"
            time.sleep(0.5)
        yield h
    finally:
        _stop_everything(proc, marker)


def instructor(hub: Hub, *command: str, cwd: Path | None = None) -> str:
    """Run a command as the instructor types it in a terminal of their hub account."""
    cwd = cwd or hub.home(INSTRUCTOR) / "chemdl-course"
    result = subprocess.run(list(command), cwd=cwd, env=hub.terminal_env(INSTRUCTOR), capture_output=True,
                            text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"`{' '.join(command)}` failed ({result.returncode}):\n{output}"
    return output


def _answers(grade_ids: tuple[str, ...] | None) -> dict[str, str]:
    """The solution notebook's answers (solution markers removed) for ``grade_ids`` (None: all)."""
    source = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    answers = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and (grade_ids is None or meta["grade_id"] in grade_ids):
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def _hidden_test_lines() -> list[str]:
    """Distinctive source lines of every hidden test block of the assignment."""
    source = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    lines = []
    for cell in source.cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            lines += [ln.strip() for ln in block.splitlines() if len(ln.strip()) > 25]
    assert lines, "the assignment has no hidden tests to look for"
    return lines


# -- the student's browser ---------------------------------------------------------------------

class Account:
    """One person's browser window on the hub. The steps of the students (and the instructor's
    login) are interleaved: one clicks while another one's server works, as in a real class."""

    def __init__(self, browser, hub: Hub, user: str, answers: dict[str, str] | None = None):
        self.hub, self.user, self.answers = hub, user, answers or {}
        self.password = INSTRUCTOR_PASSWORD if user == INSTRUCTOR else STUDENT_PASSWORD
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(ACTION_TIMEOUT)
        self.facts: dict[str, str] = {}

    def screenshot(self, step: str) -> Path:
        path = self.hub.root / f"{self.user}-{step}.png"
        with contextlib.suppress(Exception):
            self.page.screenshot(path=str(path), full_page=True)
        return path

    def login(self) -> None:
        """The hub's login form; the hub spawns the student's server."""
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("#username_input", self.user)
        page.fill("#password_input", self.password)
        page.click("#login_submit")

    def lab_loaded(self) -> None:
        """JupyterLab loads from the person's own server; the Nbgrader menu offers what their role
        uses: Assignment List for everyone, Formgrader only to the instructor."""
        page = self.page
        try:
            page.wait_for_selector("#jp-main-dock-panel", timeout=LAB_TIMEOUT)
        except Exception as exc:
            raise AssertionError(f"{self.user}: JupyterLab did not load after login ({exc}); "
                                 f"hub log:\n{self.hub.log_tail()}") from None
        assert page.url.startswith(f"{self.hub.url}/user/{self.user}/lab"), f"{self.user} landed on {page.url}"
        page.click("#jp-menu-panel >> text=Nbgrader")
        menu = page.locator(".lm-Menu-content").first
        menu.locator("text=Assignment List").wait_for()
        self.facts["menu"] = menu.inner_text()
        self.facts["sidebars"] = page.locator(".lm-TabBar.jp-SideBar").all_inner_texts()
        page.keyboard.press("Escape")

    def open_assignments(self) -> None:
        """Nbgrader > Assignment List opens the Assignments tab, which lists the released assignment."""
        page = self.page
        page.click("#jp-menu-panel >> text=Nbgrader")
        page.click(".lm-Menu-content >> text=Assignment List")
        released = page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT).first
        released.wait_for(timeout=ACTION_TIMEOUT)
        self.facts["released"] = released.inner_text()

    def fetch(self) -> None:
        """Fetch: the assignment moves to "Downloaded assignments" and lands in the student's home."""
        page = self.page
        page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT).first.locator(
            "button", has_text="Fetch").click()
        page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
        fetched = self.hub.home(self.user) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert fetched.is_file(), f"{self.user}: Fetch did not put {fetched} in the student's home"

    def save_answers(self) -> None:
        """Write the answers into the fetched notebook through the contents API, as JupyterLab saves."""
        result = self.page.evaluate(
            """async ([base, path, answers]) => {
                const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
                const headers = {'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf)};
                const url = base + 'api/contents/' + path;
                const got = await fetch(url + '?type=notebook&content=1', {headers});
                if (!got.ok) return {error: 'GET ' + got.status};
                const model = await got.json();
                const replaced = [];
                for (const cell of model.content.cells) {
                    const id = ((cell.metadata || {}).nbgrader || {}).grade_id;
                    if (id in answers) { cell.source = answers[id]; replaced.push(id); }
                }
                const put = await fetch(url, {method: 'PUT', headers,
                    body: JSON.stringify({type: 'notebook', format: 'json', content: model.content})});
                return {status: put.status, replaced};
            }""",
            [f"/user/{self.user}/", f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb", self.answers],
        )
        assert result.get("status") == 200, f"{self.user}: saving the answers failed: {result}"
        assert sorted(result["replaced"]) == sorted(self.answers), f"{self.user}: answer cells not found: {result}"

    def open_and_validate(self) -> None:
        """Open the notebook from the Assignments tab and press the notebook toolbar's Validate
        button (validation runs the saved notebook: its result shows the answers were saved)."""
        page = self.page
        page.click("#fetched_assignments_list a.assignment-notebooks-link")
        page.locator(f"#nbgrader-{COURSE_ID}-{ASSIGNMENT} .nested_list_item a", has_text=ASSIGNMENT).click()
        panel = page.locator(".jp-NotebookPanel:visible")
        panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel").first
        assert tab.inner_text().startswith(ASSIGNMENT), f"{self.user}: opened {tab.inner_text()!r}"
        panel.locator(".jp-Toolbar jp-button", has_text="Validate").click()

    def validation_result(self) -> str:
        """The "Validation Results" dialog's text (validation runs the whole notebook)."""
        dialog = self.page.locator(".jp-Dialog")
        dialog.locator(".jp-Dialog-header", has_text="Validat").wait_for(timeout=VALIDATE_TIMEOUT)
        text = dialog.locator(".jp-Dialog-content").inner_text()
        dialog.locator("button", has_text="Ok").click()
        self.facts["validation"] = text
        return text

    def submit(self) -> None:
        """Submit in the Assignments tab: the assignment appears under "Submitted assignments" with
        the submission's time."""
        page = self.page
        page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Assignments").first.click()
        page.locator("#fetched_assignments_list button", has_text="Submit").click()
        row = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
        row.wait_for()
        self.facts["submitted"] = row.inner_text()

    def fetch_feedback(self) -> None:
        """Refresh the Assignments tab; Fetch Feedback on the submitted assignment."""
        page = self.page
        page.locator("#refresh_assignments_list").click()
        button = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first.locator(
            "button", has_text="Fetch Feedback")
        button.wait_for()
        button.click()

    def view_feedback(self) -> str:
        """"(view feedback)" shows the feedback folder in the file browser; the feedback page it
        holds is opened as "Open in New Browser Tab" does (served by the student's own server).
        Returns the page's text and HTML."""
        page = self.page
        link = page.locator("#submitted_assignments_list a", has_text="view feedback").first
        link.wait_for()
        self.facts["feedback_row"] = page.locator("#submitted_assignments_list").inner_text()
        link.click()
        page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.html").first.wait_for()
        crumbs = page.locator(".jp-BreadCrumbs").first.inner_text()
        assert "feedback" in crumbs, f"{self.user}: 'view feedback' showed {crumbs!r}, not the feedback folder"
        folder = self.hub.home(self.user) / ASSIGNMENT / "feedback"
        pages = sorted(folder.glob(f"*/{ASSIGNMENT}.html"))
        assert len(pages) == 1, f"{self.user}: expected one feedback page in {folder}, found {pages}"
        rel = pages[0].relative_to(self.hub.home(self.user)).as_posix()
        tab = self.context.new_page()
        try:
            response = tab.goto(f"{self.hub.url}/user/{self.user}/files/{rel}")
            assert response is not None and response.status == 200, \
                f"{self.user}: feedback page {rel}: HTTP {response and response.status}"
            return tab.locator("body").inner_text() + "\n" + tab.content()
        finally:
            tab.close()


def each(students: list[Account], step: str, *args) -> list:
    """Run one step for every student; on failure, keep a screenshot of the student's window."""
    results = []
    for student in students:
        try:
            results.append(getattr(student, step)(*args))
        except Exception:
            shot = student.screenshot(step)
            print(f"\n{student.user}: step {step} failed; screenshot {shot}; hub log:\n{student.hub.log_tail(30)}")
            raise
    return results


def _score_from_gradebook(course: Path) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'instructor' / 'gradebook.db'}") as gb:
        return {s: (gb.find_submission(ASSIGNMENT, s).score, gb.find_submission(ASSIGNMENT, s).max_score)
                for s in (FULL, PARTIAL)}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.xdist_group("hub")
def test_a_term_on_the_hub(hub: Hub) -> None:
    from playwright.sync_api import sync_playwright

    t0 = time.monotonic()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        timings[step] = round(time.monotonic() - t0 - sum(timings.values()), 1)

    # the instructor's clone of the course repository in their hub home (exercises/ is committed:
    # `chemdl grade release` generated it)
    course = hub.home(INSTRUCTOR) / "chemdl-course"
    course.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    for folder in ("solutions", "exercises"):
        shutil.copytree(REPO / folder / ASSIGNMENT, course / folder / ASSIGNMENT)
    hidden = _hidden_test_lines()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            teacher = Account(browser, hub, INSTRUCTOR)
            students = [Account(browser, hub, FULL, _answers(None)),
                        Account(browser, hub, PARTIAL, _answers(PARTIAL_ANSWERS))]
            assert len(students[0].answers) > len(students[1].answers) == len(PARTIAL_ANSWERS)
            each([teacher] + students, "login")
            each([teacher] + students, "lab_loaded")
            lap("everyone logs in, JupyterLab loads")
            # the instructor has nbgrader's instructor tools; students (deploy/student/exchange) do not
            assert "Formgrader" in teacher.facts["menu"], teacher.facts["menu"]
            if STUDENT_PROFILE.is_dir():
                for s in students:
                    assert "Formgrader" not in s.facts["menu"], f"{s.user} sees {s.facts['menu']!r}"
                    assert not any("Create Assignment" in bar for bar in s.facts["sidebars"]), s.facts["sidebars"]

            # -- the instructor, in a terminal of their hub server: release into the exchange ---
            out = instructor(hub, "nbgrader", "release_assignment", ASSIGNMENT)
            outbound = hub.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            assert outbound.is_file(), f"release_assignment did not fill the exchange:\n{out}"
            lap("instructor: release_assignment")

            each(students, "open_assignments")
            each(students, "fetch")
            each(students, "save_answers")
            each(students, "open_and_validate")
            each(students, "validation_result")
            lap("students: fetch, answer, open, validate")
            each(students, "submit")
            lap("students: submit")

            full, partial = (s.facts for s in students)
            for s in students:
                assert COURSE_ID in s.facts["released"], s.facts["released"]
                assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", s.facts["submitted"]), \
                    f"{s.user}: the submitted row shows no time: {s.facts['submitted']!r}"
            assert "Success! Your notebook passes all the tests." in full["validation"], full["validation"]
            assert "Success!" not in partial["validation"], partial["validation"]
            assert "NotImplementedError" in partial["validation"], partial["validation"]
            inbound = sorted(p.name.split("+")[0] for p in (hub.exchange / COURSE_ID / "inbound").iterdir())
            assert inbound == [FULL, PARTIAL], f"the exchange's inbound holds submissions of {inbound}"

            # -- the instructor: collect from the exchange, autograde, feedback back through it ----
            out = instructor(hub, "nbgrader", "collect", ASSIGNMENT)
            for user in (FULL, PARTIAL):
                path = course / "instructor" / "submitted" / user / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
                assert path.is_file(), f"collect did not write {path}:\n{out}"
            lap("instructor: collect")
            out = instructor(hub, "chemdl", "grade", "autograde", ASSIGNMENT)
            assert re.search(rf"{FULL}\s+graded\s+21(\.0)?/23", out), out
            assert re.search(rf"{PARTIAL}\s+graded\s+9(\.0)?/23", out), out
            assert _score_from_gradebook(course) == {FULL: (21.0, 23.0), PARTIAL: (9.0, 23.0)}
            lap("instructor: autograde")
            out = instructor(hub, "chemdl", "grade", "feedback", ASSIGNMENT)
            out = instructor(hub, "nbgrader", "release_feedback", ASSIGNMENT)
            released_feedback = list((hub.exchange / COURSE_ID / "feedback").glob("*.html"))
            assert len(released_feedback) == 2, f"release_feedback:\n{out}"
            lap("instructor: feedback, release_feedback")

            each(students, "fetch_feedback")
            pages = each(students, "view_feedback")
            lap("students: fetch and view feedback")
            # a line only alice's answers have (bob left that question unanswered; not in the release)
            release = (REPO / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
            alice_only = next(ln.strip() for gid, src in students[0].answers.items() if gid not in PARTIAL_ANSWERS
                              for ln in src.splitlines()
                              if len(ln.strip()) > 20 and json.dumps(ln.strip())[1:-1] not in release)
            for s, page, score in zip(students, pages, ("21", "9")):
                assert "view feedback" in s.facts["feedback_row"], s.facts["feedback_row"]
                assert re.search(rf"Score:\s*{score}(\.0)?\s*/\s*23", page), \
                    f"{s.user}: the feedback page does not show the score {score} / 23:\n{page[:2000]}"
                shown = [line for line in hidden if line in page]
                assert not shown, f"{s.user}: the feedback page shows hidden test source: {shown[:3]}"
                assert "HIDDEN TESTS" not in page, f"{s.user}: hidden-test markers in the feedback page"
                # their own notebook: a line of alice's answers is on her page, not on bob's
                assert (alice_only in page) == (s.user == FULL), f"{s.user}: {alice_only!r} on the page: {alice_only in page}"
        finally:
            browser.close()
    print(f"\nhub course test timings (s): {json.dumps(timings)}")


# -- the configuration's real-deployment defaults (the end-to-end test runs its test settings) ---

class _FakeSpawner:
    def __init__(self, name: str):
        self.user = type("User", (), {"name": name})()


def _load(path: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(path.name, str(path.parent)).load_config()


def test_hub_config_defaults_are_a_real_deployment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without test variables: PAM accounts, one Unix user per person, the public port, the
    exchange in /srv; students get their hub name as nbgrader id and the student profile."""
    for name in [n for n in os.environ if n.startswith("CHEMDL_HUB_") or n.startswith("CHEMDL_EXCHANGE")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CHEMDL_HUB_STATE", str(tmp_path / "state"))   # the default /srv/jupyterhub is created
    monkeypatch.setenv("CHEMDL_HUB_INSTRUCTORS", "kim")
    monkeypatch.setenv("CHEMDL_HUB_STUDENTS", "alice, bob kim")
    cfg = _load(HUB_CONFIG)
    assert cfg.JupyterHub.authenticator_class == "pam"
    assert cfg.JupyterHub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"
    assert (cfg.JupyterHub.ip, cfg.JupyterHub.port, cfg.JupyterHub.hub_ip) == ("0.0.0.0", 8000, "127.0.0.1")
    assert cfg.Authenticator.admin_users == {"kim"}
    assert cfg.Authenticator.allowed_users == {"kim", "alice", "bob"}
    assert cfg.Spawner.cmd == [str(VENV_BIN / "jupyterhub-singleuser")]
    assert cfg.ConfigurableHTTPProxy.command[0].endswith("configurable-http-proxy")
    env = cfg.Spawner.environment
    assert env["CHEMDL_EXCHANGE_ROOT"] == "/srv/nbgrader/exchange" and env["CHEMDL_COURSE_ID"] == "chemdl"
    assert env["CHEMDL_STUDENT_ID"](_FakeSpawner("alice")) == "alice"
    assert env["CHEMDL_STUDENT_ID"](_FakeSpawner("kim")) == ""
    common = str(DEPLOY / "jupyter")
    assert env["JUPYTER_CONFIG_PATH"](_FakeSpawner("kim")) == common
    student_path = env["JUPYTER_CONFIG_PATH"](_FakeSpawner("alice")).split(os.pathsep)
    assert student_path == ([str(STUDENT_PROFILE)] if STUDENT_PROFILE.is_dir() else []) + [common]

    monkeypatch.setenv("CHEMDL_HUB_AUTH", "dummy")
    with pytest.raises(ValueError, match="CHEMDL_HUB_AUTH='dummy'"):
        _load(HUB_CONFIG)


def test_nbgrader_config_student_id_only_for_students(monkeypatch: pytest.MonkeyPatch) -> None:
    path = DEPLOY / "jupyter" / "nbgrader_config.py"
    monkeypatch.setenv("CHEMDL_EXCHANGE_ROOT", "/x/exchange")
    monkeypatch.setenv("CHEMDL_STUDENT_ID", "alice")
    cfg = _load(path)
    assert (cfg.Exchange.root, cfg.CourseDirectory.course_id, cfg.CourseDirectory.student_id) == \
        ("/x/exchange", "chemdl", "alice")
    monkeypatch.setenv("CHEMDL_STUDENT_ID", "")
    assert "student_id" not in _load(path).CourseDirectory
