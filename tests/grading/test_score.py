"""Scores come from the trusted verdicts and the gradebook's points, never from executed outputs."""

from __future__ import annotations

from dataclasses import dataclass

from chemdl_utils.grading.score import GradedCell, missing_notebook_score, score_notebook


@dataclass
class Verdict:
    passed: bool


GRADED = {"q1_test": GradedCell(2.0), "q2_test": GradedCell(1.5), "q3_test": GradedCell(1.0),
          "q4_written": GradedCell(2.0, manual=True, cell_type="markdown")}


def test_tests_earn_the_gradebooks_points_only_when_their_verdict_passed():
    score = score_notebook("nb", GRADED, {"q1_test": Verdict(True), "q2_test": Verdict(False)},
                           answers=["q1_answer", "q4_written"])
    assert {c.grade_id: c.auto_score for c in score.cells} == {
        "q1_test": 2.0, "q2_test": 0.0, "q3_test": 0.0, "q4_written": None}  # no verdict: zero
    assert score.score == 2.0 and score.max_score == 6.5 and score.needs_manual_grade
    assert score.comment("q1_answer") is None and score.comment("q4_written") is None


def test_blank_answers_score_zero_with_no_response_and_vanished_cells_zero():
    score = score_notebook("nb", GRADED, {"q1_test": Verdict(True)}, blank={"q4_written", "q1_answer"},
                           present={"q1_test", "q4_written"}, answers=["q1_answer", "q4_written"])
    assert score.auto_score("q4_written") == 0.0 and score.comment("q4_written") == "No response."
    assert score.comment("q1_answer") == "No response."
    assert score.auto_score("q2_test") == 0.0  # not in the executed notebook
    assert not score.needs_manual_grade


def test_a_verdict_that_only_looks_true_does_not_pass():
    score = score_notebook("nb", {"q1_test": GradedCell(2.0)}, {"q1_test": Verdict("yes")})  # type: ignore[arg-type]
    assert score.auto_score("q1_test") == 0.0
    assert missing_notebook_score("nb", GRADED).score == 0.0
