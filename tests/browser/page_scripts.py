"""JavaScript the browser tests run in a page (shared by conftest.py and the test modules)."""

#: waits until MathJax has typeset, every plotly figure is drawn and every saved widget view is shown
SETTLE_JS = """async () => {
  const sleep = (ms) => new Promise(r => setTimeout(r, ms));
  if (document.querySelector('div.math, span.math')) {
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) await sleep(50);
    if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  }
  const want = document.querySelectorAll('script.chemdl-plotly-data').length;
  for (let i = 0; i < 300 && document.querySelectorAll('.chemdl-plotly-figure.js-plotly-plot .main-svg').length < want; i++) await sleep(50);
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  for (let i = 0; i < 200 && document.querySelectorAll('.jupyter-widgets').length < views; i++) await sleep(50);
  await sleep(200);
}"""
