"""JupyterHub configuration for running *Deep Learning in Chemistry* as a course with nbgrader.

Start the hub from the course's virtual environment (the one `make venv` builds, which holds
jupyterhub, nbgrader, JupyterLab and chemdl_utils):

    sudo CHEMDL_HUB_INSTRUCTORS=alice CHEMDL_HUB_STUDENTS="bob carol" \
        /opt/chemdl/.venv/bin/jupyterhub -f /opt/chemdl/deploy/jupyterhub/jupyterhub_config.py

Every setting that differs between a real deployment and the end-to-end test
(tests/hub/test_hub_course.py, which starts the hub with this very file) is read from an
environment variable below; the defaults are the real deployment's:

    CHEMDL_HUB_IP, CHEMDL_HUB_PORT       public address of the proxy        (0.0.0.0, 8000)
    CHEMDL_HUB_API_PORT                  hub's internal API port             (8081)
    CHEMDL_HUB_PROXY_API_PORT            proxy's REST API port               (8001)
    CHEMDL_HUB_STATE                     hub database, cookie secret, pid    (/srv/jupyterhub)
    CHEMDL_HUB_INSTRUCTORS               instructor accounts (hub admins)    (instructor)
    CHEMDL_HUB_STUDENTS                  student accounts                    (none: add them in the admin page)
    CHEMDL_HUB_AUTH                      pam | shared-password               (pam: the machine's accounts)
    CHEMDL_HUB_SPAWNER                   local | simple                      (local: one Unix user per person)
    CHEMDL_HUB_HOMES                     home folders, simple spawner only   (/tmp/chemdl-homes)
    CHEMDL_EXCHANGE_ROOT                 nbgrader's exchange                 (/srv/nbgrader/exchange)
    CHEMDL_COURSE_ID                     nbgrader course id                  (chemdl)

Names are separated by spaces or commas. "shared-password" and "simple" are for tests and demos
only: every account then runs as the same Unix user, so students are not isolated from each other.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

HERE = Path(__file__).resolve().parent          # deploy/jupyterhub/
REPO = HERE.parents[1]                          # the course repository
VENV_BIN = Path(sys.executable).parent          # the course venv: the hub and every user's server run from it


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _names(value: str) -> set[str]:
    return {n for n in re.split(r"[\s,]+", value) if n}


# -- network -----------------------------------------------------------------------------------
# Put TLS in front (nginx/Caddy, or c.JupyterHub.ssl_cert / ssl_key): passwords cross this port.
c.JupyterHub.ip = _env("CHEMDL_HUB_IP", "0.0.0.0")
c.JupyterHub.port = int(_env("CHEMDL_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(_env("CHEMDL_HUB_API_PORT", "8081"))

# The proxy is configurable-http-proxy from npm, pinned in the repository's package.json and
# package-lock.json (`npm ci` in the repository root installs it into node_modules/).
_chp = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [str(_chp) if _chp.exists() else "configurable-http-proxy"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_env('CHEMDL_HUB_PROXY_API_PORT', '8001')}"

# -- state ---------------------------------------------------------------------------------------
STATE = Path(_env("CHEMDL_HUB_STATE", "/srv/jupyterhub"))
STATE.mkdir(parents=True, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
# stopping the hub stops the proxy and every user's server
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# -- accounts ------------------------------------------------------------------------------------
INSTRUCTORS = _names(_env("CHEMDL_HUB_INSTRUCTORS", "instructor"))
STUDENTS = _names(_env("CHEMDL_HUB_STUDENTS", "")) - INSTRUCTORS
c.Authenticator.admin_users = INSTRUCTORS
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS

AUTH = _env("CHEMDL_HUB_AUTH", "pam")
if AUTH == "pam":
    # the machine's own accounts and passwords (JupyterHub's default authenticator)
    c.JupyterHub.authenticator_class = "pam"
elif AUTH == "shared-password":
    # tests and demos: students log in with CHEMDL_HUB_STUDENT_PASSWORD (8+ characters),
    # instructors with CHEMDL_HUB_INSTRUCTOR_PASSWORD (32+ characters)
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = os.environ["CHEMDL_HUB_STUDENT_PASSWORD"]
    c.SharedPasswordAuthenticator.admin_password = os.environ["CHEMDL_HUB_INSTRUCTOR_PASSWORD"]
else:
    raise ValueError(f"CHEMDL_HUB_AUTH={AUTH!r}: use 'pam' (real accounts) or 'shared-password' (tests)")

# -- each user's server ------------------------------------------------------------------------
SPAWNER = _env("CHEMDL_HUB_SPAWNER", "local")
if SPAWNER == "local":
    # one Unix account per person (create them with `adduser`); the hub runs as root and starts each
    # user's server as that user in their home folder
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
elif SPAWNER == "simple":
    # tests and demos: every server runs as the hub's own Unix user, with HOME = CHEMDL_HUB_HOMES/<name>
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(Path(_env("CHEMDL_HUB_HOMES", "/tmp/chemdl-homes")) / "{username}")
else:
    raise ValueError(f"CHEMDL_HUB_SPAWNER={SPAWNER!r}: use 'local' (one Unix user each) or 'simple' (tests)")

# The course's package reaches students through the environment their server runs in: the hub's
# own venv (VENV_BIN). Its default kernel is that venv's Python, so `import chemdl_utils`, torch,
# RDKit and nbgrader work in every notebook without a per-student install. (With DockerSpawner,
# build the single-user image with `pip install /path/to/course` instead; see the instructor guide.)
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
if SPAWNER == "simple" and os.geteuid() == 0:
    c.Spawner.args = ["--ServerApp.allow_root=True"]   # a container that runs everything as root
# a loaded machine takes a while to start a JupyterLab server
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180

EXCHANGE = _env("CHEMDL_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
COURSE_ID = _env("CHEMDL_COURSE_ID", "chemdl")
# Jupyter config folders every user's server reads first (JUPYTER_CONFIG_PATH outranks the venv's
# own etc/jupyter, where installing nbgrader switched every instructor tool on):
#   deploy/jupyterhub/jupyter/   nbgrader_config.py: course id and exchange (everyone; like /etc/jupyter)
#   deploy/student/exchange/     students only: JupyterLab with Validate and the Assignments tab, without
#                                Formgrader, Create Assignment and the course list (deploy/student/README.md)
# Instructors keep nbgrader's full set (Formgrader, Create Assignment) from the venv.
_COMMON_CONFIG = HERE / "jupyter"
_STUDENT_CONFIG = REPO / "deploy" / "student" / "exchange"


def _config_path(spawner) -> str:
    paths = [str(_COMMON_CONFIG)]
    if spawner.user.name not in INSTRUCTORS and _STUDENT_CONFIG.is_dir():
        paths.insert(0, str(_STUDENT_CONFIG))
    return os.pathsep.join(paths)


def _student_id(spawner) -> str:
    """The nbgrader student id: the hub user name for students, empty for instructors."""
    return "" if spawner.user.name in INSTRUCTORS else spawner.user.name


c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": _config_path,
    "CHEMDL_EXCHANGE_ROOT": EXCHANGE,
    "CHEMDL_COURSE_ID": COURSE_ID,
    "CHEMDL_STUDENT_ID": _student_id,
    # the venv's commands (nbgrader, chemdl, python) come first in terminals
    "PATH": os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
}
# inherited from the hub's environment: the hub's own switches for the course library, and the
# run id a test uses to find (and stop) every process it started
c.Spawner.env_keep = ["JUPYTERHUB_SINGLEUSER_APP", "LANG", "LC_ALL", "CHEMDL_DEVICE", "CHEMDL_PROGRESS",
                      "CHEMDL_CACHE_DIR", "CHEMDL_HUB_RUN_ID"]

if not _chp.exists() and shutil.which("configurable-http-proxy") is None:
    raise RuntimeError(f"configurable-http-proxy not found: run `npm ci` in {REPO} (it needs Node.js)")
