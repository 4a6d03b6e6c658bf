"""What this machine can do for the course, each with the fix when it cannot (``chemdl info``).

Three things fail on machines that otherwise run the book: RDKit's drawing module needs X
libraries that headless GPU servers lack; the browser tests need Debian's chromium; the grader's
sandbox needs bubblewrap (or root). Each check returns one :class:`Check` that says what works and,
when it does not, the exact command that fixes it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "check_drawing", "check_browser", "check_sandbox", "run_checks"]

CHROMIUM = Path("/usr/bin/chromium")
_X_LIBS = "libxrender1 libxext6 libx11-6"


@dataclass(frozen=True)
class Check:
    """One capability: ``ok``, what was found, and the fix when it is not ok."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """``name: ok|MISSING  detail  (fix: ...)``."""
        text = f"{self.name}: {'ok' if self.ok else 'MISSING'}  {self.detail}"
        return text if self.ok or not self.fix else f"{text}  (fix: {self.fix})"


def check_drawing() -> Check:
    """RDKit can draw a molecule (its drawing module loads libXrender, libXext and libX11)."""
    try:
        from rdkit import Chem
        from rdkit.Chem.Draw import rdMolDraw2D

        drawer = rdMolDraw2D.MolDraw2DCairo(120, 120)
        drawer.DrawMolecule(Chem.MolFromSmiles("c1ccccc1O"))
        drawer.FinishDrawing()
        size = len(drawer.GetDrawingText())
    except ImportError as exc:
        return Check("rdkit drawing", False, f"{exc}", f"apt-get install -y {_X_LIBS} (or `make sysdeps` as root)")
    except Exception as exc:  # noqa: BLE001 - any other failure is reported as it is
        return Check("rdkit drawing", False, f"{type(exc).__name__}: {exc}")
    return Check("rdkit drawing", True, f"drew phenol ({size} bytes of PNG)")


def check_browser() -> Check:
    """Debian's chromium, which the browser tests drive with Playwright."""
    if CHROMIUM.is_file():
        return Check("browser", True, str(CHROMIUM))
    return Check("browser", False, f"{CHROMIUM} not found", "apt-get install -y chromium (or `make sysdeps` as root)")


def check_sandbox() -> Check:
    """The strongest isolation the grader can use here (bubblewrap is the one to have)."""
    from .grading import isolation

    levels = isolation.available_levels()
    best = levels[0] if levels else "none"
    if best == "bwrap":
        return Check("grading sandbox", True, "bwrap (bubblewrap): namespaces, no network, read-only system")
    fix = "apt-get install -y bubblewrap (or `make sysdeps` as root)"
    if shutil.which("bwrap"):
        fix = "bwrap is installed but does not work here: allow unprivileged user namespaces or grade as root"
    return Check("grading sandbox", False, f"best level here: {best} (weaker than bwrap)", fix)


def run_checks() -> list[Check]:
    """Every check, in the order ``chemdl info`` prints them."""
    return [check_drawing(), check_browser(), check_sandbox()]
