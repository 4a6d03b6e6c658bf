"""TeX in feedback pages becomes MathML when the page is written (``grading.tex_math``), and the
sanitizer lets through only presentation MathML: hostile TeX cannot add links, styles or markup."""

from __future__ import annotations

import pytest

from chemdl_utils.grading.safe_text import sanitize_html
from chemdl_utils.grading.tex_math import typeset


def _body(page: str) -> str:
    return page.split("<body>", 1)[1].split("</body>", 1)[0]


@pytest.mark.parametrize("tex, display", [
    (r"$\frac{1}{2}$", "inline"),
    (r"\(\frac{1}{2}\)", "inline"),
    (r"$$\frac{1}{2}$$", "block"),
    (r"\[\frac{1}{2}\]", "block"),
])
def test_every_jupyter_delimiter_becomes_mathml(tex, display):
    out = typeset(f"<p>half: {tex}.</p>")
    assert out.startswith("<p>half: <math") and f'display="{display}"' in out
    assert "<mfrac><mrow><mn>1</mn></mrow><mrow><mn>2</mn></mrow></mfrac>" in out and out.endswith("</math>.</p>")


def test_environments_escaped_text_and_literal_dollars():
    out = typeset(r"<p>\begin{align} a &amp;= b \\ c &amp;= d \end{align}</p>")
    assert out.count("<mtr>") == 2 and 'display="block"' in out  # HTML-escaped TeX is read unescaped
    out = typeset(r"<p>$x &lt; y$ costs \$5 and \$10</p>")
    assert "<mo>&#x0003C;</mo>" in out and out.endswith(" costs $5 and $10</p>")


def test_code_and_unreadable_formulas_stay_as_they_are():
    code = '<pre><code>price = "$5"; total = "$10"</code></pre><kbd>$x$</kbd>'
    assert typeset(code) == code
    assert typeset(r"<p>$\frac{$</p>") == r"<p>$\frac{$</p>"  # the converter cannot read it: TeX stays
    assert typeset("<p>no maths here</p>") == "<p>no maths here</p>"
    # text after a closed code element is typeset again
    assert "<math" in typeset("<p><code>$a$</code> but $b$</p>").split("</code>")[1]


def test_hostile_tex_cannot_add_links_styles_or_markup():
    page = sanitize_html(r"""<body><p>$\href{javascript:alert(1)}{click}$ $\style{position:fixed;top:0}{x}$
    $\class{panel-heading}{fake}$ $\text{&lt;b onmouseover=alert(1)&gt;bold&lt;/b&gt;}$</p>
    <math><maction actiontype="toggle"><mi>a</mi></maction><semantics><annotation-xml encoding="text/html">
    <img src=x onerror=alert(2)></annotation-xml></semantics><mi href="javascript:alert(3)" style="x">b</mi></math>
    </body>""")
    body = _body(page)
    for bad in ("javascript", "href", "style=", "onmouseover", "onerror", "<b", "maction", "annotation", "<img"):
        assert bad not in body, (bad, body)
    assert body.count("<math") == 5 and "<mi>b</mi>" in body

