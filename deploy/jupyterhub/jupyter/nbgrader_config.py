"""nbgrader settings every user's server on the course's JupyterHub reads (students and instructors).

On a real hub, copy this file to /etc/jupyter/nbgrader_config.py, or keep it here: the hub's
jupyterhub_config.py puts this folder on JUPYTER_CONFIG_PATH of every single-user server (and the
instructor uses the same folder for the commands typed in a hub terminal).

    CHEMDL_COURSE_ID       the course id                              (chemdl)
    CHEMDL_EXCHANGE_ROOT   nbgrader's exchange: a folder every user can write, mode 1777 on a
                           real hub (sudo install -d -m 1777 /srv/nbgrader/exchange)   (/srv/nbgrader/exchange)
    CHEMDL_STUDENT_ID      set by the hub for students only: their hub user name

The instructor's course settings (solutions/, exercises/, the gradebook, stubs, timeouts) stay in
the repository's own nbgrader_config.py, which nbgrader reads from the current folder on top of this.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader/traitlets when this file is loaded)

c.CourseDirectory.course_id = os.environ.get("CHEMDL_COURSE_ID") or "chemdl"
c.Exchange.root = os.environ.get("CHEMDL_EXCHANGE_ROOT") or "/srv/nbgrader/exchange"

# nbgrader names a submission after the Unix user submitting it. With one Unix account per
# student (the hub's LocalProcessSpawner) that is the hub user name anyway; where every server runs
# as one Unix user (containers as "jovyan", the test's SimpleLocalProcessSpawner) the hub user name
# must be given, or every student would submit as the same person.
_student = os.environ.get("CHEMDL_STUDENT_ID")
if _student:
    c.CourseDirectory.student_id = _student
