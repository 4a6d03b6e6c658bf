/* Draw the plotly figures of a book page from the JSON that chemdl_utils.site.plotly_mime wrote.
 *
 * plotly.min.js (shipped by the plotly Python package, vendored next to this file at build time)
 * is only fetched on pages that have a figure. Where require.js is on the page (pages with
 * Jupyter widgets), plotly.js is loaded through it: a UMD build loaded by a plain <script> would
 * call the anonymous define() and raise "Mismatched anonymous define() module".
 */
(function () {
  "use strict";
  var selector = "script.chemdl-plotly-data";
  var here = document.currentScript ? document.currentScript.src : null;

  function plotlyUrl() {
    return new URL("plotly.min.js", here || window.location.href).href;
  }

  function loadPlotly(callback) {
    if (window.Plotly && window.Plotly.newPlot) {
      callback(window.Plotly);
      return;
    }
    var amd = typeof window.define === "function" && window.define.amd && typeof window.requirejs === "function";
    if (amd) {
      // a UMD bundle returns the module; plotly.js >= 4 sets window.Plotly and returns nothing
      window.requirejs([plotlyUrl()], function (Plotly) {
        window.Plotly = window.Plotly || Plotly;
        callback(window.Plotly);
      }, function (err) {
        console.error("chemdl: could not load plotly.js from " + plotlyUrl(), err);
      });
      return;
    }
    var script = document.createElement("script");
    script.src = plotlyUrl();
    script.onload = function () { callback(window.Plotly); };
    script.onerror = function () { console.error("chemdl: could not load plotly.js from " + plotlyUrl()); };
    document.head.appendChild(script);
  }

  function drawAll(Plotly) {
    var scripts = document.querySelectorAll(selector);
    Array.prototype.forEach.call(scripts, function (script) {
      if (script.dataset.drawn) return;
      script.dataset.drawn = "1";
      var fig = JSON.parse(script.textContent);
      var div = document.createElement("div");
      div.className = "chemdl-plotly-figure";
      script.parentNode.insertBefore(div, script);
      var config = Object.assign({ responsive: true, displaylogo: false }, fig.config || {});
      Plotly.newPlot(div, {
        data: fig.data || [],
        layout: fig.layout || {},
        frames: fig.frames || [],
        config: config
      });
    });
  }

  function start() {
    if (document.querySelector(selector)) loadPlotly(drawAll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
