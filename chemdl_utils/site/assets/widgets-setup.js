/* Loaded on pages with Jupyter widgets, after require.js and before the widgets manager
 * (nb_ipywidgets_js in _config.yml), from the site's _static/chemdl/ folder.
 *
 * 1. embed-amd.js and the widget modules it defines find their fonts relative to their AMD module
 *    URLs; ids such as "@jupyter-widgets/base" would resolve against the page's folder, so map
 *    every @jupyter-widgets/* id to the vendored copy next to this file.
 * 2. ipywidgets 8 typesets widget labels with the MathJax 2 API (MathJax.Hub.Queue); the book
 *    loads MathJax 3, so give it a small Hub that forwards to MathJax 3's typesetPromise.
 */
(function () {
  "use strict";
  var here = document.currentScript ? document.currentScript.src : window.location.href;
  if (window.requirejs && window.requirejs.config) {
    var manager = new URL("html-manager", here).href;
    window.requirejs.config({
      // the bundled modules (@jupyter-widgets/base, /controls, ...) locate their icon fonts next
      // to their own module URL, so every @jupyter-widgets/* id maps to the vendored folder
      paths: { "@jupyter-widgets/html-manager/dist": manager, "@jupyter-widgets": manager }
    });
  }

  var pending = [];
  function typeset(elements) {
    var mj = window.MathJax;
    if (mj && mj.typesetPromise) {
      mj.typesetPromise(elements).catch(function (err) { console.warn("MathJax typeset failed", err); });
    } else {
      pending = pending.concat(elements || [document.body]);
    }
  }
  function installHub(mj) {
    if (!mj || (mj.Hub && mj.Hub.chemdl)) return;
    mj.Hub = {
      chemdl: true,
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset") typeset(job[2] ? [job[2]] : undefined);
          else if (typeof job === "function") job();
        });
      }
    };
  }
  var mj = window.MathJax;
  if (!mj) return; // no math on this page: ipywidgets skips typesetting
  installHub(mj);
  if (!mj.version) {
    // MathJax 3 not loaded yet (it is deferred): window.MathJax is its configuration object,
    // replaced by MathJax itself on load; install the Hub again once it is ready
    mj.startup = mj.startup || {};
    var ready = mj.startup.ready;
    mj.startup.ready = function () {
      if (ready) ready(); else window.MathJax.startup.defaultReady();
      installHub(window.MathJax);
      window.MathJax.startup.promise.then(function () {
        if (pending.length) { var els = pending; pending = []; typeset(els); }
      });
    };
  }
})();
