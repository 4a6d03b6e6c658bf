"""A term of the course on JupyterHub, end to end, in a real browser.

A JupyterHub (``deploy/jupyterhub/jupyterhub_config.py``, the file a real deployment uses, switched
to its test settings by environment variables) runs on 127.0.0.1 with configurable-http-proxy from
``node_modules/``, an instructor and two students (shared-password authenticator, every server a
``SimpleLocalProcessSpawner`` process with its own home folder under tmp), and nbgrader's exchange
in tmp, configured by ``deploy/jupyterhub/jupyter/nbgrader_config.py``.

* The instructor, in a terminal of their hub account (the environment the hub gives their server),
  types ``chemdl grade release neurons`` and ``nbgrader release_assignment neurons``.
* Each student, in Chromium: logs in, opens Nbgrader > Assignment List, fetches ``neurons``, saves
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
COMMON_JUPYTER_CONFIG = DEPLOY / "jupyter"
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

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("hub")]

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
    for module, extra in (("jupyterhub", "test"), ("playwright", "test"), ("nbgrader", "")):
        try:
            __import__(module)
        except ImportError:
            return f"python package {module} is missing: pip install -e '.[{extra or 'test'}]'"
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
        """The environment of a terminal in ``user``'s hub server (what jupyterhub_config.py gives it)."""
        env = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "CHEMDL_CACHE_DIR", "CHEMDL_DEVICE")}
        env.update(
            HOME=str(self.home(user)), USER=user, SHELL="/bin/bash",
            PATH=os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
            JUPYTER_CONFIG_PATH=str(COMMON_JUPYTER_CONFIG), JUPYTERHUB_USER=user,
            CHEMDL_EXCHANGE_ROOT=str(self.exchange), CHEMDL_COURSE_ID=COURSE_ID,
            CHEMDL_STUDENT_ID="" if user == INSTRUCTOR else user, CHEMDL_HUB_RUN_ID=self.marker,
            CHEMDL_PROGRESS="0",
        )
        return env

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

def login(page, hub: Hub, user: str) -> None:
    """Log in on the hub's page; the hub spawns the server and JupyterLab loads."""
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", STUDENT_PASSWORD)
    page.click("#login_submit")
    try:
        page.wait_for_selector("#jp-main-dock-panel", timeout=LAB_TIMEOUT)
    except Exception as exc:
        raise AssertionError(f"{user}: JupyterLab did not load after login ({exc}); hub log:\n{hub.log_tail()}")
    assert page.url.startswith(f"{hub.url}/user/{user}/lab"), f"{user} landed on {page.url}"


def open_assignments(page) -> None:
    """Nbgrader > Assignment List: the Assignments tab."""
    page.click("#jp-menu-panel >> text=Nbgrader")
    page.click(".lm-Menu-content >> text=Assignment List")
    page.wait_for_selector("#released_assignments_list_loading[hidden]", state="attached", timeout=ACTION_TIMEOUT)
    page.wait_for_selector("#fetched_assignments_list_loading[hidden]", state="attached", timeout=ACTION_TIMEOUT)


def save_answers(page, user: str, answers: dict[str, str]) -> None:
    """Write the answers into the fetched notebook through the contents API, as JupyterLab saves."""
    path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    result = page.evaluate(
        """async ([base, path, answers]) => {
            const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
            const headers = {'Content-Type': 'application/json', 'X-XSRFToken': decodeURIComponent(xsrf)};
            const url = base + 'api/contents/' + path;
            const got = await fetch(url + '?type=notebook&content=1', {headers});
            if (!got.ok) return {error: 'GET ' + got.status};
            const model = await got.json();
            let replaced = [];
            for (const cell of model.content.cells) {
                const id = ((cell.metadata || {}).nbgrader || {}).grade_id;
                if (id in answers) { cell.source = answers[id]; replaced.push(id); }
            }
            const put = await fetch(url, {method: 'PUT', headers,
                body: JSON.stringify({type: 'notebook', format: 'json', content: model.content})});
            return {status: put.status, replaced};
        }""",
        [f"/user/{user}/", path, answers],
    )
    assert result.get("status") == 200, f"{user}: saving the answers failed: {result}"
    assert sorted(result["replaced"]) == sorted(answers), f"{user}: answer cells not found: {result}"


def validate_in_notebook(page, user: str) -> str:
    """Open the notebook from the Assignments tab and press the notebook's Validate button."""
    page.click("#fetched_assignments_list a.assignment-notebooks-link")
    notebook_link = page.locator(f"#nbgrader-{COURSE_ID}-{ASSIGNMENT} .nested_list_item a", has_text=ASSIGNMENT)
    notebook_link.click()
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=ACTION_TIMEOUT)
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    assert tab.first.inner_text().startswith(ASSIGNMENT), f"{user}: opened {tab.first.inner_text()!r}"
    panel.locator(".jp-Toolbar jp-button", has_text="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-header", has_text="Validat").wait_for(timeout=VALIDATE_TIMEOUT)
    text = dialog.locator(".jp-Dialog-content").inner_text()
    dialog.locator("button", has_text="Ok").click()
    return text


def submit(page, user: str) -> str:
    """Submit from the Assignments tab; returns the submitted row's text (it carries the timestamp)."""
    page.locator(".lm-TabBar-tab", has_text="Assignments").first.click()
    page.locator("#fetched_assignments_list button", has_text="Submit").click()
    row = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT)
    row.first.wait_for(timeout=ACTION_TIMEOUT)
    return row.first.inner_text()


def view_feedback(page, hub: Hub, user: str) -> tuple[str, str]:
    """Fetch Feedback, then "(view feedback)" in the Assignments tab; open the page the file
    browser shows. Returns (the Assignments tab row, the feedback page's text)."""
    page.locator("#refresh_assignments_list").click()
    row = page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
    row.locator("button", has_text="Fetch Feedback").wait_for(timeout=ACTION_TIMEOUT)
    row.locator("button", has_text="Fetch Feedback").click()
    link = page.locator("#submitted_assignments_list a", has_text="view feedback").first
    link.wait_for(timeout=ACTION_TIMEOUT)
    row_text = page.locator("#submitted_assignments_list").inner_text()
    link.click()
    # the file browser now shows neurons/feedback/<timestamp>/, holding the feedback page
    item = page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.html").first
    item.wait_for(timeout=ACTION_TIMEOUT)
    crumbs = page.locator(".jp-BreadCrumbs").first.inner_text()
    assert "feedback" in crumbs, f"{user}: 'view feedback' opened {crumbs!r}, not the feedback folder"
    folder = (hub.home(user) / ASSIGNMENT / "feedback")
    pages = sorted(folder.glob(f"*/{ASSIGNMENT}.html"))
    assert len(pages) == 1, f"{user}: expected one feedback page in {folder}, found {pages}"
    rel = pages[0].relative_to(hub.home(user)).as_posix()
    # open it as "Open in New Browser Tab" does: the student's own server serves the file
    feedback = page.context.new_page()
    try:
        response = feedback.goto(f"{hub.url}/user/{user}/files/{rel}", timeout=ACTION_TIMEOUT)
        assert response is not None and response.status == 200, f"{user}: feedback page {rel}: {response and response.status}"
        text = feedback.locator("body").inner_text()
        html = feedback.content()
    finally:
        feedback.close()
    return row_text, text + "\n" + html


def student_fetches_answers_submits(browser, hub: Hub, user: str, answers: dict[str, str]) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT)
    facts: dict = {}
    try:
        login(page, hub, user)
        open_assignments(page)
        released = page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
        released.first.wait_for(timeout=ACTION_TIMEOUT)
        facts["released"] = released.first.inner_text()
        released.first.locator("button", has_text="Fetch").click()
        page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for(timeout=ACTION_TIMEOUT)
        fetched = hub.home(user) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert fetched.is_file(), f"{user}: Fetch did not put {fetched} in the student's home"
        save_answers(page, user, answers)
        facts["validation"] = validate_in_notebook(page, user)
        facts["submitted"] = submit(page, user)
    except Exception:
        page.screenshot(path=str(hub.root / f"{user}-failure.png"), full_page=True)
        raise
    finally:
        context.close()
    return facts


def student_sees_feedback(browser, hub: Hub, user: str) -> tuple[str, str]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT)
    try:
        login(page, hub, user)
        open_assignments(page)
        return view_feedback(page, hub, user)
    except Exception:
        page.screenshot(path=str(hub.root / f"{user}-feedback-failure.png"), full_page=True)
        raise
    finally:
        context.close()


def _score_from_gradebook(hub: Hub) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    db = hub.home(INSTRUCTOR) / "chemdl-course" / "instructor" / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        out = {}
        for student in (FULL, PARTIAL):
            sub = gb.find_submission(ASSIGNMENT, student)
            out[student] = (sub.score, sub.max_score)
        return out


def test_a_term_on_the_hub(hub: Hub, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    t0 = time.monotonic()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        timings[step] = round(time.monotonic() - t0 - sum(timings.values()), 1)

    # -- the instructor: a clone of the course in their hub home; release into the exchange ----
    course = hub.home(INSTRUCTOR) / "chemdl-course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    out = instructor(hub, "chemdl", "grade", "release", ASSIGNMENT)
    assert f"{ASSIGNMENT}: released 1 file(s)" in out, out
    out = instructor(hub, "nbgrader", "release_assignment", ASSIGNMENT)
    outbound = hub.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert outbound.is_file(), f"release_assignment did not fill the exchange:\n{out}"
    lap("instructor release")

    full_answers = _answers(None)
    partial_answers = _answers(PARTIAL_ANSWERS)
    assert set(partial_answers) == set(PARTIAL_ANSWERS) and len(full_answers) > len(partial_answers)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM),
                                     args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            facts = {FULL: student_fetches_answers_submits(browser, hub, FULL, full_answers)}
            lap(f"{FULL}: login, fetch, answer, validate, submit")
            facts[PARTIAL] = student_fetches_answers_submits(browser, hub, PARTIAL, partial_answers)
            lap(f"{PARTIAL}: login, fetch, answer, validate, submit")

            for user in (FULL, PARTIAL):
                assert COURSE_ID in facts[user]["released"], facts[user]["released"]
                assert re.search(r"\d{4}-\d\d-\d\d", facts[user]["submitted"]), \
                    f"{user}: the submitted row shows no timestamp: {facts[user]['submitted']!r}"
            assert "Success! Your notebook passes all the tests." in facts[FULL]["validation"], facts[FULL]["validation"]
            assert "Success!" not in facts[PARTIAL]["validation"], facts[PARTIAL]["validation"]
            assert "NotImplementedError" in facts[PARTIAL]["validation"], facts[PARTIAL]["validation"]

            inbound = sorted(p.name.split("+")[0] for p in (hub.exchange / COURSE_ID / "inbound").iterdir())
            assert inbound == [FULL, PARTIAL], f"exchange inbound holds submissions of {inbound}"

            # -- the instructor: collect from the exchange, autograde, feedback back through it ----
            out = instructor(hub, "nbgrader", "collect", ASSIGNMENT)
            submitted = course / "instructor" / "submitted"
            for user in (FULL, PARTIAL):
                assert (submitted / user / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file(), f"collect:\n{out}"
            out = instructor(hub, "chemdl", "grade", "autograde", ASSIGNMENT)
            assert re.search(rf"{FULL}\s+graded\s+21(\.0)?/23", out), out
            assert re.search(rf"{PARTIAL}\s+graded\s+9(\.0)?/23", out), out
            assert _score_from_gradebook(hub) == {FULL: (21.0, 23.0), PARTIAL: (9.0, 23.0)}
            out = instructor(hub, "chemdl", "grade", "feedback", ASSIGNMENT)
            out = instructor(hub, "nbgrader", "release_feedback", ASSIGNMENT)
            released_feedback = list((hub.exchange / COURSE_ID / "feedback").glob("*.html"))
            assert len(released_feedback) == 2, f"release_feedback:\n{out}"
            lap("instructor collect, autograde, feedback, release_feedback")

            hidden = _hidden_test_lines()
            for user, score, other in ((FULL, "21", PARTIAL), (PARTIAL, "9", FULL)):
                row, page = student_sees_feedback(browser, hub, user)
                lap(f"{user}: fetch and view feedback")
                assert "view feedback" in row, row
                assert re.search(rf"Score:\s*{score}(\.0)?\s*/\s*23", page), \
                    f"{user}: the feedback page does not show the score {score} / 23:\n{page[:2000]}"
                shown = [line for line in hidden if line in page]
                assert not shown, f"{user}: the feedback page shows hidden test source: {shown[:3]}"
                assert "HIDDEN TESTS" not in page, f"{user}: hidden-test markers in the feedback page"
                assert other not in page, f"{user}'s feedback page mentions {other}"
        finally:
            browser.close()
    print(f"\nhub course test timings (s): {json.dumps(timings)}")
