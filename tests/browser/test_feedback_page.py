"""A feedback page as a student opens it: from disk, offline, with no script allowed. Its TeX,
typeset as MathML when the page was written, is drawn by the browser itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from chemdl_utils.grading.safe_text import sanitize_html

PAGE = r"""<html><head><title>Feedback</title></head><body>
<p id="inline">The sigmoid $\sigma(x) = \frac{1}{1+e^{-x}}$ squashes any input.</p>
<p>$$\hat{y} = \sum_{i=1}^{n} w_i x_i + b$$</p>
<pre><code>print("$5")</code></pre></body></html>"""


@pytest.mark.browser
@pytest.mark.xdist_group("book")  # the shared Playwright browser lives on the book's worker
def test_feedback_math_is_drawn_offline_without_a_script(browser, tmp_path: Path):
    path = tmp_path / "feedback.html"
    path.write_text(sanitize_html(PAGE), encoding="utf-8")
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto(path.as_uri())
        boxes = page.evaluate("""() => {
            const box = (el) => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
            const fraction = document.querySelector('#user-content-inline mfrac');
            const [top, bottom] = [...fraction.children].map((el) => el.getBoundingClientRect());
            const power = document.querySelector('#user-content-inline msup');
            const [base, exponent] = [...power.children].map((el) => el.getBoundingClientRect());
            return {
                maths: [...document.querySelectorAll('math')].map(box),
                stacked: top.bottom <= bottom.top + 0.5 && top.height > 0 && bottom.height > 0,
                raised: exponent.bottom < base.bottom && exponent.height < base.height,
                scripts: document.scripts.length,
                code: document.querySelector('pre code').textContent,
            };
        }""")
    finally:
        context.close()
    assert requests == [path.as_uri()] and errors == []  # nothing else is loaded, nothing is refused
    assert boxes["scripts"] == 0 and boxes["code"] == 'print("$5")'
    assert len(boxes["maths"]) == 2 and all(w > 20 and h > 10 for w, h in boxes["maths"])
    # typeset, not source text: the numerator sits above the denominator, the exponent is raised and smaller
    assert boxes["stacked"] and boxes["raised"]
