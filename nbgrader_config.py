"""nbgrader course configuration.

Instructor sources live in ``solutions/<assignment>/``, released student notebooks in
``exercises/<assignment>/``. Everything nbgrader writes while grading (submitted/, autograded/,
feedback/, the gradebook) lives in the git-ignored instructor workspace ``instructor/``.
"""

import os
import sys

c = get_config()  # noqa: F821  (provided by nbgrader/traitlets when this file is loaded)

_here = os.path.dirname(os.path.abspath(__file__))
_workspace = os.environ.get("CHEMDL_INSTRUCTOR_DIR", os.path.join(_here, "instructor"))
# nbgrader changes into the workspace first, and runs `alembic` by name for a new gradebook
os.makedirs(_workspace, exist_ok=True)
_bin = os.path.dirname(sys.executable)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_bin, os.environ.get("PATH", "")])

c.CourseDirectory.course_id = "chemdl"
c.CourseDirectory.root = _workspace
# nbgrader joins these with root unless they are absolute
c.CourseDirectory.source_directory = os.path.join(_here, "solutions")
c.CourseDirectory.release_directory = os.path.join(_here, "exercises")
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = os.environ.get("CHEMDL_GRADEBOOK_URL", "sqlite:///" + os.path.join(_workspace, "gradebook.db"))

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
