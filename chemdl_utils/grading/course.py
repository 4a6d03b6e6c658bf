"""Where a course's files live, and the nbgrader configuration that points at them.

A :class:`Course` is the single description every grading step receives: the nbgrader source
folder (``solutions/``), the release folder (``exercises/``), the instructor workspace
(``instructor/``: submitted/, autograded/, feedback/, the SQLite gradebook) and the gradebook URL.
:meth:`Course.nbgrader_config` turns it into a traitlets ``Config`` for nbgrader's converters,
starting from the course's own ``nbgrader_config.py`` so that settings an instructor adds there
(stubs, timeouts, ...) apply to ``chemdl grade`` exactly as to plain ``nbgrader``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

__all__ = ["Course", "find_course_root", "run_nbgrader", "ensure_nbgrader_tools", "normalize_db_url"]


def ensure_nbgrader_tools() -> None:
    """Let nbgrader stamp a new gradebook without running the ``alembic`` command.

    nbgrader 0.9 runs ``alembic heads`` in a subprocess each time it creates a gradebook (seconds
    on a busy machine, and it fails when the virtual environment is not activated, since
    ``alembic`` is then not on ``PATH``). The same answer comes from alembic's Python API in
    milliseconds; ``nbgrader.api.get_alembic_version`` is replaced by that, computed once.
    """
    import functools

    import nbgrader.api as api

    if getattr(api.get_alembic_version, "_chemdl", False):
        return

    @functools.lru_cache(maxsize=1)
    def get_alembic_version() -> str:
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(Path(api.__file__).parent / "alembic"))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        if not head:
            raise RuntimeError("nbgrader's alembic migrations have no head revision; reinstall nbgrader")
        return head

    get_alembic_version._chemdl = True  # type: ignore[attr-defined]
    api.get_alembic_version = get_alembic_version


def normalize_db_url(url: str) -> str:
    """``url`` with an installed PostgreSQL driver named.

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3 (the course's ``postgres`` extra
    installs it, so nbgrader's own commands work with the same URL); where only psycopg2 is
    installed, name it: ``postgresql+psycopg2://``.
    """
    import importlib.util

    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            has3, has2 = importlib.util.find_spec("psycopg"), importlib.util.find_spec("psycopg2")
            if has3 is None and has2 is not None:
                return "postgresql+psycopg2://" + url[len(bare):]
            return "postgresql://" + url[len(bare):]
    return url


def find_course_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) with nbgrader_config.py or solutions/."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() or (folder / "solutions").is_dir():
            return folder
    raise FileNotFoundError(
        f"no course found at or above {here}: expected nbgrader_config.py or solutions/; pass --course DIR"
    )


@dataclass(frozen=True)
class Course:
    """One course: its folders and gradebook.

    ``root`` holds ``solutions/`` (nbgrader source) and ``exercises/`` (release). ``workspace``
    holds what grading writes (default ``$CHEMDL_INSTRUCTOR_DIR`` or ``root/instructor``).
    ``db_url`` is an SQLAlchemy URL (default ``$CHEMDL_GRADEBOOK_URL`` or SQLite in the workspace).
    """

    root: Path
    workspace: Path
    db_url: str
    course_id: str = "chemdl"
    source_dir: Path = field(default=None)  # type: ignore[assignment]
    release_dir: Path = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())
        object.__setattr__(self, "workspace", Path(self.workspace).resolve())
        object.__setattr__(self, "db_url", normalize_db_url(self.db_url))
        if self.source_dir is None:
            object.__setattr__(self, "source_dir", self.root / "solutions")
        if self.release_dir is None:
            object.__setattr__(self, "release_dir", self.root / "exercises")

    @classmethod
    def from_root(
        cls, root: Path | str | None = None, *, workspace: Path | str | None = None, db_url: str | None = None
    ) -> "Course":
        """The course at ``root`` (default: found from cwd), optionally another workspace and gradebook."""
        root_path = Path(root).resolve() if root is not None else find_course_root()
        if not root_path.is_dir():
            raise FileNotFoundError(f"course folder {root_path} does not exist; pass --course DIR")
        ws = Path(workspace or os.environ.get("CHEMDL_INSTRUCTOR_DIR") or root_path / "instructor")
        default = "sqlite:///" + str(ws.resolve() / "gradebook.db")
        url = db_url or os.environ.get("CHEMDL_GRADEBOOK_URL") or default
        if "://" not in url:
            raise ValueError(
                f"--db {url!r} is not a database URL; use sqlite:///path.db or postgresql://user@host/db"
            )
        return cls(root=root_path, workspace=ws, db_url=url)

    # -- folders nbgrader uses ------------------------------------------------------------------
    @property
    def submitted_dir(self) -> Path:
        """``workspace/submitted``: nbgrader's ``<student>/<assignment>/`` layout, filled by ``collect``."""
        return self.workspace / "submitted"

    @property
    def autograded_dir(self) -> Path:
        """``workspace/autograded``: executed copies written by ``autograde``."""
        return self.workspace / "autograded"

    @property
    def feedback_dir(self) -> Path:
        """``workspace/feedback``: one HTML file per student notebook."""
        return self.workspace / "feedback"

    @property
    def reports_dir(self) -> Path:
        """``workspace/reports``: default folder for ``export`` and ``report`` output."""
        return self.workspace / "reports"

    # -- assignments ----------------------------------------------------------------------------
    def assignments(self) -> list[str]:
        """Names of the assignments in the source folder (folders holding at least one notebook)."""
        if not self.source_dir.is_dir():
            return []
        return sorted(p.name for p in self.source_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def require_assignment(self, assignment: str) -> Path:
        """The source folder of ``assignment``; a clear error naming the known ones if it is absent."""
        if not assignment or "/" in assignment or assignment.startswith("."):
            raise ValueError(
                f"assignment name {assignment!r} is not valid; use a folder name from {self.source_dir}"
            )
        folder = self.source_dir / assignment
        if not folder.is_dir() or not any(folder.glob("*.ipynb")):
            known = ", ".join(self.assignments()) or "none"
            raise FileNotFoundError(f"no assignment {assignment!r} in {self.source_dir} (known: {known})")
        return folder

    def source_notebooks(self, assignment: str) -> list[Path]:
        """The source notebooks of ``assignment``, sorted by name."""
        return sorted(self.require_assignment(assignment).glob("*.ipynb"))

    # -- nbgrader ---------------------------------------------------------------------------------
    def nbgrader_config(self, **overrides: object) -> Config:
        """A traitlets ``Config`` for nbgrader converters: the course's ``nbgrader_config.py`` plus our paths.

        ``overrides`` are ``"Section.trait": value`` pairs applied last.
        """
        config = Config()
        cfg_file = self.root / "nbgrader_config.py"
        if cfg_file.is_file():
            from traitlets.config.loader import PyFileConfigLoader

            config.merge(PyFileConfigLoader(cfg_file.name, path=str(self.root)).load_config())
        cd = config.CourseDirectory
        cd.root = str(self.workspace)
        cd.course_id = self.course_id
        cd.source_directory = str(self.source_dir)
        cd.release_directory = str(self.release_dir)
        cd.submitted_directory = str(self.submitted_dir)
        cd.autograded_directory = str(self.autograded_dir)
        cd.feedback_directory = str(self.feedback_dir)
        cd.db_url = self.db_url
        config.Application.log_level = "WARNING"
        for key, value in overrides.items():
            section, trait = key.split(".", 1)
            setattr(getattr(config, section), trait, value)
        return config

    def ensure_workspace(self) -> None:
        """Create the workspace folders (the gradebook's folder too, for SQLite)."""
        for folder in (self.workspace, self.submitted_dir, self.autograded_dir):
            folder.mkdir(parents=True, exist_ok=True)


def run_nbgrader(converter_cls: type, course: Course, what: str, **overrides: object) -> None:
    """Run one nbgrader converter (``GenerateAssignment``, ``GenerateFeedback``, ...) on ``course``.

    nbgrader reports problems through its log; they are captured and the first error becomes the
    message of the ``RuntimeError`` raised when the converter fails.
    """
    import io
    import logging

    from nbgrader.coursedir import CourseDirectory

    course.ensure_workspace()
    ensure_nbgrader_tools()
    config = course.nbgrader_config(**overrides)
    coursedir = CourseDirectory(config=config)
    converter = converter_cls(coursedir=coursedir, config=config)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.ERROR)
    converter.log.addHandler(handler)
    try:
        converter.start()
    except Exception as exc:
        logged = [line for line in buffer.getvalue().splitlines() if line.strip()]
        import re

        errors = [line.strip() for line in logged if re.match(r"^\s*[\w.]*(Error|Exception)\b", line)]
        errors = [e for e in errors if not e.startswith("nbgrader.converters.base.NbGrader")] or logged
        detail = errors[-1][:300] if errors else f"{type(exc).__name__}: {exc}"
        raise RuntimeError(f"nbgrader could not {what}: {detail}") from exc
    finally:
        converter.log.removeHandler(handler)
