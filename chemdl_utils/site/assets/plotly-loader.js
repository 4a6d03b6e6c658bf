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
      // a name for screen readers: the figure's title (plotly's SVG text is not announced)
      var layoutTitle = fig.layout && fig.layout.title;
      var titleText = typeof layoutTitle === "string" ? layoutTitle : (layoutTitle && layoutTitle.text) || "";
      titleText = titleText.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
      div.setAttribute("role", "figure");
      div.setAttribute("aria-label", "Interactive figure" + (titleText ? ": " + titleText : "") +
        " (hover or tap for values" + ((fig.layout && (fig.layout.sliders || fig.layout.updatemenus)) ?
        "; keyboard controls below it" : "") + ")");
      script.parentNode.insertBefore(div, script);
      var config = Object.assign({ responsive: true, displaylogo: false }, fig.config || {});
      var index = document.querySelectorAll(".chemdl-plotly-figure").length - 1;
      Plotly.newPlot(div, {
        data: fig.data || [],
        layout: fig.layout || {},
        frames: fig.frames || [],
        config: config
      }).then(function (gd) {
        addKeyboardControls(Plotly, gd, index);
        reachableToolbar(gd);
        gd.on("plotly_afterplot", function () { reachableToolbar(gd); });  // plotly may redraw its toolbar
      });
    });
  }

  /* plotly's toolbar (zoom, pan, autoscale, reset, download) is made of <a> elements without href,
   * which take no focus, and it shows only while the mouse is over the figure. Each button becomes
   * a named button in the Tab order that Enter and Space press, and the toolbar shows while one of
   * its buttons has focus. */
  var TOOLBAR_STYLE = ".js-plotly-plot .plotly .modebar:focus-within{opacity:1!important}" +
    ".js-plotly-plot .plotly .modebar-btn:focus-visible{outline:3px solid #0b5cad;outline-offset:1px}";

  function reachableToolbar(gd) {
    if (!document.getElementById("chemdl-plotly-toolbar-style")) {
      var style = document.createElement("style");
      style.id = "chemdl-plotly-toolbar-style";
      style.textContent = TOOLBAR_STYLE;
      document.head.appendChild(style);
    }
    Array.prototype.forEach.call(gd.querySelectorAll(".modebar-btn"), function (button) {
      if (button.dataset.chemdlKeys) return;
      button.dataset.chemdlKeys = "1";
      button.setAttribute("tabindex", "0");
      button.setAttribute("role", "button");
      button.setAttribute("aria-label", button.getAttribute("data-title") || "figure tool");
      button.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        button.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, view: window }));
      });
    });
  }

  /* Keyboard and screen-reader access to a figure's sliders and menus: plotly draws them in SVG,
   * which takes no focus. Each gets a native twin below the figure (<input type="range"> for a
   * slider, <select> for a menu), labelled, reachable with Tab and moved with the arrow keys; it
   * runs the same step as a click on plotly's control and the two stay in step. */
  var STYLE = ".chemdl-plotly-keys{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;align-items:center;" +
    "margin:.25rem 0 1rem;font-size:.85rem}.chemdl-plotly-keys label{display:flex;gap:.5rem;align-items:center}" +
    ".chemdl-plotly-keys input:focus-visible,.chemdl-plotly-keys select:focus-visible{outline:3px solid #0b5cad;" +
    "outline-offset:2px}.chemdl-plotly-keys [hidden]{display:none}";

  function addStyle() {
    if (document.getElementById("chemdl-plotly-keys-style")) return;
    var style = document.createElement("style");
    style.id = "chemdl-plotly-keys-style";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  function addKeyboardControls(Plotly, gd, index) {
    var layout = gd.layout || {};
    var sliders = layout.sliders || [];
    var menus = layout.updatemenus || [];
    if (!sliders.length && !menus.length) return;
    addStyle();
    var box = document.createElement("div");
    box.className = "chemdl-plotly-keys";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Controls of the figure above (Tab to a control, arrow keys to change it)");
    var controls = [];

    function run(item) {
      if (!item || !item.method || item.method === "skip") return Promise.resolve();
      var api = { restyle: 1, relayout: 1, update: 1, animate: 1 };
      if (!api[item.method]) return Promise.resolve();
      return Plotly[item.method].apply(null, [gd].concat(item.args || []));
    }

    function sync() {
      var lay = gd.layout || {};
      controls.forEach(function (c) {
        var spec = (lay[c.kind] || [])[c.k] || {};
        c.wrap.hidden = spec.visible === false;
        var active = spec.active === undefined ? 0 : spec.active;
        if (c.kind === "sliders") {
          c.input.value = String(active);
          var step = (spec.steps || [])[active] || {};
          var text = (spec.currentvalue && spec.currentvalue.prefix || "") + (step.label || "");
          c.input.setAttribute("aria-valuetext", text);
          c.output.textContent = step.label || "";
        } else {
          c.input.selectedIndex = active;
        }
      });
    }

    function choose(kind, k, active) {
      var spec = (gd.layout[kind] || [])[k] || {};
      var item = (kind === "sliders" ? spec.steps : spec.buttons)[active];
      var update = {};
      update[kind + "[" + k + "].active"] = active;
      run(item).then(function () { return Plotly.relayout(gd, update); }).then(sync);
    }

    menus.forEach(function (menu, k) {
      var wrap = document.createElement("label");
      var select = document.createElement("select");
      select.dataset.figureIndex = String(index);
      // plotly menus have no label of their own; figures put one in an annotation ("activation:")
      var note = (layout.annotations || []).filter(function (a) {
        return /:\s*$/.test(a.text || "") && Math.abs((a.y || 0) - (menu.y || 0)) < 0.15;
      })[0];
      var name = menu.name || (note && note.text.replace(/[\s:]+$/, "")) || "menu " + (k + 1);
      wrap.appendChild(document.createTextNode(name.charAt(0).toUpperCase() + name.slice(1)));
      (menu.buttons || []).forEach(function (button, b) {
        var option = document.createElement("option");
        option.value = String(b);
        option.textContent = button.label || "option " + (b + 1);
        select.appendChild(option);
      });
      select.addEventListener("change", function () { choose("updatemenus", k, select.selectedIndex); });
      wrap.appendChild(select);
      box.appendChild(wrap);
      controls.push({ kind: "updatemenus", k: k, wrap: wrap, input: select });
    });
    sliders.forEach(function (slider, k) {
      var wrap = document.createElement("label");
      var input = document.createElement("input");
      var output = document.createElement("output");
      input.type = "range";
      input.min = "0";
      input.max = String(Math.max((slider.steps || []).length - 1, 0));
      input.step = "1";
      input.dataset.figureIndex = String(index);
      var prefix = (slider.currentvalue && slider.currentvalue.prefix) || "";
      var name = prefix.replace(/[\s=:]+$/, "") || "slider " + (k + 1);
      wrap.appendChild(document.createTextNode(name));
      input.addEventListener("input", function () { choose("sliders", k, Number(input.value)); });
      wrap.appendChild(input);
      output.setAttribute("aria-hidden", "true");
      wrap.appendChild(output);
      box.appendChild(wrap);
      controls.push({ kind: "sliders", k: k, wrap: wrap, input: input, output: output });
    });
    gd.parentNode.insertBefore(box, gd.nextSibling);
    if (gd.on) {
      gd.on("plotly_sliderchange", function () { setTimeout(sync, 0); });
      gd.on("plotly_buttonclicked", function () { setTimeout(sync, 0); });
    }
    sync();
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
