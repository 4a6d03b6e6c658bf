"""``report``: how each question went: score distributions and the hardest questions.

:func:`question_table` returns one row per graded cell (submissions, mean, median, share of full
and of zero marks, mean as a fraction of the points), hardest first. :func:`write_report` saves
it as CSV and Markdown and draws ``<assignment>-questions.png``: the distribution of each
question's score (as a fraction of its points) next to the mean. Text in the CSV and Markdown
passes through :mod:`~chemdl_utils.grading.safe_text` (no control characters, no formulas).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from .course import Course
from .gradebook import open_gradebook
from .safe_text import csv_cell, printable

__all__ = ["question_table", "markdown_table", "write_report"]

COLUMNS = ["notebook", "question", "points", "submissions", "mean", "median", "mean_fraction",
           "full_marks", "zero_marks", "manual_pending"]


def question_table(course: Course, assignment: str) -> list[dict]:
    """Per-question statistics over all submissions of ``assignment``, hardest (lowest mean share) first."""
    rows = []
    with open_gradebook(course) as gb:
        a = gb.find_assignment(assignment)
        subs = list(a.submissions)
        for nb in a.notebooks:
            for cell in nb.grade_cells:
                points = float(cell.max_score)
                scores, pending = [], 0
                for sub in subs:
                    for snb in sub.notebooks:
                        if snb.notebook != nb:
                            continue
                        for g in snb.grades:
                            if g.cell_id != cell.id:
                                continue
                            value = g.manual_score if g.manual_score is not None else g.auto_score
                            if value is None:
                                pending += 1
                            else:
                                scores.append(float(value))
                n = len(scores)
                mean = statistics.fmean(scores) if n else float("nan")
                rows.append({
                    "notebook": nb.name, "question": cell.name, "points": points, "submissions": n,
                    "mean": round(mean, 3) if n else None,
                    "median": round(statistics.median(scores), 3) if n else None,
                    "mean_fraction": round(mean / points, 3) if n and points else None,
                    "full_marks": round(sum(s >= points for s in scores) / n, 3) if n else None,
                    "zero_marks": round(sum(s == 0 for s in scores) / n, 3) if n else None,
                    "manual_pending": pending, "_scores": scores,
                })
    rows.sort(key=lambda r: (r["mean_fraction"] is None, r["mean_fraction"] or 0))
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The rows as a GitHub-flavoured Markdown table."""
    def fmt(v: object) -> str:
        return "" if v is None else (f"{v:g}" if isinstance(v, float) else printable(v).replace("|", "\\|"))

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_report(
    course: Course, assignment: str, outdir: Path | None = None, hardest: int = 3
) -> dict[str, Path]:
    """Write ``<assignment>-questions.csv``, ``.md`` (with the ``hardest`` questions named) and ``.png``."""
    import csv

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = question_table(course, assignment)
    if not any(r["submissions"] for r in rows):
        raise ValueError(
            f"no graded submissions of {assignment!r} yet: run 'chemdl grade autograde {assignment}' first"
        )
    outdir = Path(outdir or course.reports_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": outdir / f"{assignment}-questions.csv", "md": outdir / f"{assignment}-questions.md",
             "png": outdir / f"{assignment}-questions.png"}
    with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in r.items()} for r in rows)
    top = [r for r in rows if r["mean_fraction"] is not None][:hardest]
    text = [f"# {assignment}: questions, hardest first\n", markdown_table(rows)]
    named = [f"{printable(r['question'])} ({100 * r['mean_fraction']:.0f}% of points on average)" for r in top]
    text.append("\nHardest: " + ", ".join(named) + "\n")
    paths["md"].write_text("\n".join(text), encoding="utf-8")

    shown = [r for r in rows if r["submissions"]]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(shown) + 2), 4))
    data = [[s / r["points"] for s in r["_scores"]] if r["points"] else [0.0] for r in shown]
    ax.boxplot(data, showmeans=True)
    for i, values in enumerate(data, start=1):
        ax.scatter([i] * len(values), values, s=10, alpha=0.4, color="tab:blue")
    ax.set_xticks(range(1, len(shown) + 1), [r["question"] for r in shown], rotation=30, ha="right")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("score / points")
    ax.set_title(f"{assignment}: score per question (hardest left, n={max(r['submissions'] for r in shown)})")
    fig.tight_layout()
    fig.savefig(paths["png"], dpi=120)
    plt.close(fig)
    return paths
