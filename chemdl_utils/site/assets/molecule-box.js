/* The molecule box of the static book: type a SMILES, get the lecture's atom and bond tables and a
 * drawing with the atoms numbered 1..n, computed in the reader's browser by RDKit.js (RDKit's
 * WebAssembly build, npm @rdkit/rdkit, vendored into _static/chemdl/rdkit/ by
 * chemdl_utils.site.vendor_assets). No kernel, no server, no network.
 *
 * A page gets a box from chemdl_utils.widgets.static_molecule_box(smiles): that HTML already holds
 * the tables and drawing of its first molecule (computed in Python at build time, so nothing is
 * downloaded until the reader uses the box), and a small inline script that loads this file.
 * RDKit.js (about 7 MB) is fetched the first time the reader puts the cursor in a box.
 *
 * The tables equal chemdl_utils.feature_table(smiles) cell by cell (tests/browser/
 * test_molecule_box.py checks it). What each column is, in RDKit.js terms (Mol.get_json(), RDKit's
 * commonchem JSON, whose atoms and bonds are in RDKit order):
 *   atomic_number  atom "z"
 *   num_neighbors  bonds that touch the atom + its hydrogens (Atom.GetTotalDegree())
 *   num_hydrogens  atom "impHs", which RDKit writes as Atom.GetTotalNumHs() (bracket and implicit H)
 *   formal_charge  atom "chg"
 *   atomic_mass    Atom.GetMass(): the standard atomic weight, or the isotope's mass for [13C];
 *                  read from RDKit's own table as the "amw" descriptor of the lone atom [13#6];
 *                  float32, rounded to 3 decimals like the Python table (numpy's round half even)
 *   in_ring        the atom is in one of the rings of the "atomRings" extension (RDKit's SSSR)
 *   bond_type      int(Bond.GetBondType()): 12 for a bond in the "aromaticBonds" extension, else
 *                  "bo" (1, 2, 3, 4 for $, 17 for a dative -> bond)
 *   stereo         int(Bond.GetStereo()). With RDKit's legacy stereo perception (the default of
 *                  the Python RDKit the course uses, and set below for RDKit.js) a double bond's
 *                  stereo atoms are its highest-CIP-ranked neighbours and the label is E or Z,
 *                  which the JSON writes as "trans" / "cis"; "either" is STEREOANY.
 */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module && module.exports) {
    module.exports = api; // node (tests and scripts)
  } else {
    root.chemdlMoleculeBox = api;
    api.start();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var SYMBOLS = ("* H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn " +
    "Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm " +
    "Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu " +
    "Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og").split(" ");
  // RDKit's enum names (Chem.BondType / Chem.BondStereo), shown as the cells' tooltips
  var BOND_TYPES = ["UNSPECIFIED", "SINGLE", "DOUBLE", "TRIPLE", "QUADRUPLE", "QUINTUPLE", "HEXTUPLE",
    "ONEANDAHALF", "TWOANDAHALF", "THREEANDAHALF", "FOURANDAHALF", "FIVEANDAHALF", "AROMATIC", "IONIC",
    "HYDROGEN", "THREECENTER", "DATIVEONE", "DATIVE", "DATIVEL", "DATIVER", "OTHER", "ZERO"];
  var BOND_STEREOS = ["STEREONONE", "STEREOANY", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS",
    "STEREOATROPCW", "STEREOATROPCCW"];
  var JSON_STEREO = { unspecified: 0, either: 1, cis: 2, trans: 3, atrop_cw: 6, atrop_ccw: 7 };
  var ATOM_COLUMNS = ["element", "atomic_number", "num_neighbors", "num_hydrogens", "formal_charge",
    "atomic_mass", "in_ring"];
  var BOND_COLUMNS = ["atom_i", "atom_j", "bond_type", "stereo"];
  var COLUMN_HELP = {
    element: "element symbol (Atom.GetSymbol())",
    atomic_number: "atomic number Z (Atom.GetAtomicNum())",
    num_neighbors: "directly bonded neighbours, hydrogens included (Atom.GetTotalDegree())",
    num_hydrogens: "attached hydrogens, implicit and explicit (Atom.GetTotalNumHs())",
    formal_charge: "formal charge (Atom.GetFormalCharge())",
    atomic_mass: "atomic mass in u: standard atomic weight, or the isotope's mass (Atom.GetMass())",
    in_ring: "1 if the atom is in a ring (Atom.IsInRing())",
    atom_i: "first atom of the bond (Bond.GetBeginAtomIdx() + 1)",
    atom_j: "second atom of the bond (Bond.GetEndAtomIdx() + 1)",
    bond_type: "RDKit bond type: 1 single, 2 double, 3 triple, 12 aromatic, 17 dative (Bond.GetBondType())",
    stereo: "RDKit bond stereo: 0 none, 1 any, 2 Z, 3 E (Bond.GetStereo())"
  };
  var INVALID_HINT = "Check brackets, ring-closure digits, valences and aromatic lowercase atoms " +
    "(try drawing it in a molecule editor).";

  /** Python's repr() of a string (the Python error message quotes the SMILES with it). */
  function pyRepr(text) {
    var quote = text.indexOf("'") >= 0 && text.indexOf('"') < 0 ? '"' : "'";
    var body = text.replace(/[\\\x00-\x1f\x7f]/g, function (c) {
      var named = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" }[c];
      return named || "\\x" + ("0" + c.charCodeAt(0).toString(16)).slice(-2);
    });
    if (quote === "'") body = body.replace(/'/g, "\\'");
    return quote + body + quote;
  }

  /** A SMILES that RDKit cannot turn into a molecule; .message is what the reader sees, the same
   * text as chemdl_utils.InvalidSmilesError's. */
  function InvalidSmiles(smiles, reason) {
    this.name = "InvalidSmiles";
    this.smiles = smiles;
    this.reason = reason || "RDKit could not parse it";
    this.message = "Invalid SMILES " + pyRepr(String(smiles)) + ": " + this.reason + ". " + INVALID_HINT;
  }

  /** RDKit's own reason from its error log, in one line, as chemdl_utils._rdkit._rdkit_reason
   * writes it ("RDKit: unclosed ring for input: 'C1CC'"); "" if the log said nothing. */
  function rdkitReason(messages) {
    var lines = String(messages || "").split(/\r?\n/).map(function (line) {
      return line.replace(/^\[\d\d:\d\d:\d\d\]\s*/, "").trim();
    }).filter(function (line) { return line.trim(); }).map(function (line) {
      return line.split("SMILES Parse Error: ").join("").replace(/\.+$/, "").trim();
    });
    if (!lines.length) return "";
    var position = "";
    for (var i = 1; i < lines.length; i++) {
      if (lines[i].indexOf("check for mistakes around position") === 0) { position = lines[i]; break; }
    }
    var reason = position ? lines[0] + " (" + position.replace(/:+$/, "") + ")" : lines[0];
    return "RDKit: " + reason.replace(/\s+/g, " ");
  }

  var errorLogs = typeof WeakMap === "function" ? new WeakMap() : null;
  /** RDKit.js's captured error log (rdApp.error), set up once per RDKit module. */
  function errorLog(RDKit) {
    if (!errorLogs || typeof RDKit.set_log_capture !== "function") return null;
    if (!errorLogs.has(RDKit)) {
      var log = null;
      try { log = RDKit.set_log_capture("rdApp.error"); } catch (err) { log = null; }
      errorLogs.set(RDKit, log);
    }
    return errorLogs.get(RDKit);
  }

  function rint(x) { // round half to even, as numpy does
    var f = Math.floor(x), d = x - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }

  /** Atom.GetMass() as the Python table shows it: float32, rounded to 3 decimals in float32. */
  function formatMass(mass) {
    var thousandths = rint(Math.fround(Math.fround(mass) * 1000));
    return (thousandths / 1000).toFixed(3);
  }

  var massCache = {};
  /** Atom.GetMass() of an atom with atomic number z and mass number isotope (0: none), from
   * RDKit.js's periodic table: the average molecular weight of the lone atom, without hydrogens. */
  function atomMass(RDKit, z, isotope) {
    var key = z + ":" + isotope;
    if (!(key in massCache)) {
      var mol = RDKit.get_mol("[" + (isotope ? isotope : "") + (z ? "#" + z : "*") + "]");
      if (!mol) throw new Error("RDKit.js could not build the atom Z=" + z + ", isotope " + isotope);
      try {
        massCache[key] = JSON.parse(mol.get_descriptors()).amw;
      } finally {
        mol.delete();
      }
    }
    return massCache[key];
  }

  function parse(RDKit, smiles) {
    var text = String(smiles).trim();
    if (!text) throw new InvalidSmiles(smiles, "the string is empty");
    var mol = null, log = errorLog(RDKit);
    if (log) log.clear_buffer();
    try {
      mol = RDKit.get_mol(text);
    } catch (err) {
      mol = null;
    }
    if (!mol) throw new InvalidSmiles(smiles, log ? rdkitReason(log.get_buffer()) : "");
    var ok = false;
    try {
      ok = mol.is_valid() && mol.get_num_atoms() > 0;
    } catch (err) {
      ok = false;
    }
    if (!ok) {
      var empty = false;
      try { empty = mol.is_valid() && mol.get_num_atoms() === 0; } catch (err) { empty = false; }
      mol.delete();
      throw new InvalidSmiles(smiles, empty ? "it contains no atoms" : "RDKit could not parse it");
    }
    return mol;
  }

  /** The lecture's atom and bond tables of `smiles`, as chemdl_utils.feature_table computes them:
   * {atoms: [{element, atomic_number, ..., atomic_mass (a string, 3 decimals), in_ring}],
   *  bonds: [{atom_i, atom_j, bond_type, stereo}]}, rows in RDKit order, atoms numbered from 1.
   * Throws InvalidSmiles. */
  function featureTables(RDKit, smiles) {
    var mol = parse(RDKit, smiles);
    var doc;
    try {
      doc = JSON.parse(mol.get_json());
    } finally {
      mol.delete();
    }
    var defaults = doc.defaults, m = doc.molecules[0];
    var ext = {};
    (m.extensions || []).forEach(function (e) { if (e.name === "rdkitRepresentation") ext = e; });
    var aromatic = {};
    (ext.aromaticBonds || []).forEach(function (i) { aromatic[i] = true; });
    var inRing = {};
    (ext.atomRings || []).forEach(function (ring) { ring.forEach(function (i) { inRing[i] = true; }); });
    var degree = m.atoms.map(function () { return 0; });
    var bonds = (m.bonds || []).map(function (b, k) {
      var get = function (key) { return key in b ? b[key] : defaults.bond[key]; };
      degree[b.atoms[0]] += 1;
      degree[b.atoms[1]] += 1;
      var stereo = JSON_STEREO[get("stereo")];
      if (stereo === undefined) throw new Error("unknown bond stereo " + JSON.stringify(get("stereo")));
      return {
        atom_i: b.atoms[0] + 1,
        atom_j: b.atoms[1] + 1,
        bond_type: aromatic[k] ? 12 : get("bo"),
        stereo: stereo
      };
    });
    var atoms = m.atoms.map(function (a, i) {
      var get = function (key) { return key in a ? a[key] : defaults.atom[key]; };
      var z = get("z"), hs = get("impHs"), isotope = get("isotope");
      return {
        element: SYMBOLS[z] || "?",
        atomic_number: z,
        num_neighbors: degree[i] + hs,
        num_hydrogens: hs,
        formal_charge: get("chg"),
        atomic_mass: formatMass(atomMass(RDKit, z, isotope)),
        in_ring: inRing[i] ? 1 : 0
      };
    });
    return { atoms: atoms, bonds: bonds };
  }

  /** `smiles` with a CXSMILES block that sets each atom's note to its number (1..n), so RDKit
   * draws the numbers next to the atoms as the Python draw_molecule(atom_numbers=True) does. */
  function numberedSmiles(smiles, n) {
    var notes = [];
    for (var i = 0; i < n; i++) notes.push(i + ".atomNote." + (i + 1));
    var block = "atomProp:" + notes.join(":");
    var text = String(smiles).trim();
    var space = text.search(/\s/);
    if (space < 0) return text + " |" + block + "|";
    var rest = text.slice(space).trim();
    if (rest.charAt(0) === "|") return text.slice(0, space) + " |" + block + "," + rest.slice(1);
    return text.slice(0, space) + " |" + block + "|"; // the rest is a name: not drawn
  }

  /** SVG drawing of `smiles` with its atoms numbered 1..n (the rows of the atom table). */
  function drawing(RDKit, smiles, width, height) {
    var plain = parse(RDKit, smiles);
    var n = plain.get_num_atoms();
    var mol = null;
    try {
      mol = RDKit.get_mol(numberedSmiles(smiles, n));
    } catch (err) {
      mol = null;
    }
    if (!mol || !mol.is_valid() || mol.get_num_atoms() !== n) {
      if (mol) mol.delete();
      mol = plain; // cannot add the numbers: draw without them
    } else {
      plain.delete();
    }
    try {
      var svg = mol.get_svg_with_highlights(JSON.stringify({
        width: width, height: height, annotationFontScale: 0.7
      }));
      return svg.replace(/^<\?xml[^>]*>\s*/, "");
    } finally {
      mol.delete();
    }
  }

  // ------------------------------------------------------------------------------------------
  // the page

  var here = typeof document !== "undefined" && document.currentScript ? document.currentScript.src : null;
  var rdkitPromise = null;

  function assetUrl(name) {
    return new URL(name, here || window.location.href).href;
  }

  /** RDKit.js, loaded once per page from the site (_static/chemdl/rdkit/). */
  function loadRDKit() {
    if (rdkitPromise) return rdkitPromise;
    rdkitPromise = new Promise(function (resolve, reject) {
      var jsUrl = assetUrl("rdkit/RDKit_minimal.js");
      var wasmUrl = assetUrl("rdkit/RDKit_minimal.wasm");
      function init(factory) {
        if (typeof factory !== "function") {
          reject(new Error("RDKit_minimal.js did not define initRDKitModule"));
          return;
        }
        factory({ locateFile: function () { return wasmUrl; } }).then(function (RDKit) {
          RDKit.disable_logging(); // an invalid SMILES is reported in the box, not the console
          RDKit.use_legacy_stereo_perception(true); // as the Python RDKit does by default
          resolve(RDKit);
        }, reject);
      }
      if (typeof window.initRDKitModule === "function") {
        init(window.initRDKitModule);
        return;
      }
      var amd = typeof window.define === "function" && window.define.amd && typeof window.requirejs === "function";
      if (amd) { // pages with Jupyter widgets load require.js: RDKit_minimal.js then calls define()
        window.requirejs([jsUrl], init, reject);
        return;
      }
      var script = document.createElement("script");
      script.src = jsUrl;
      script.onload = function () { init(window.initRDKitModule); };
      script.onerror = function () { reject(new Error("could not load " + jsUrl)); };
      document.head.appendChild(script);
    });
    rdkitPromise.catch(function () { rdkitPromise = null; }); // a later try may work
    return rdkitPromise;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function table(kind, rows, columns, caption) {
    var t = el("table", { "class": "chemdl-mb-table dataframe", "data-table": kind });
    t.appendChild(el("caption", {}, caption));
    var head = el("thead"), tr = el("tr");
    tr.appendChild(el("th", { scope: "col" }, kind === "atoms" ? "atom" : "bond"));
    columns.forEach(function (c) { tr.appendChild(el("th", { scope: "col", title: COLUMN_HELP[c] }, c)); });
    head.appendChild(tr);
    t.appendChild(head);
    var body = el("tbody");
    rows.forEach(function (row, k) {
      var r = el("tr");
      r.appendChild(el("th", { scope: "row" }, k + 1));
      columns.forEach(function (c) {
        var attrs = { "data-col": c };
        if (c === "bond_type") attrs.title = BOND_TYPES[row[c]] || "";
        if (c === "stereo") attrs.title = BOND_STEREOS[row[c]] || "";
        r.appendChild(el("td", attrs, row[c]));
      });
      body.appendChild(r);
    });
    t.appendChild(body);
    return t;
  }

  function captions(tables) {
    var na = tables.atoms.length, nb = tables.bonds.length;
    return {
      atoms: "Atoms: " + na + (na === 1 ? " atom" : " atoms") + ", the lecture's six features",
      bonds: "Bonds: " + (nb ? nb + (nb === 1 ? " bond" : " bonds") + ", the lecture's two features" : "none")
    };
  }

  function Box(root) {
    this.root = root;
    this.input = root.querySelector("input.chemdl-mb-input");
    this.form = root.querySelector("form");
    this.message = root.querySelector(".chemdl-mb-message");
    this.figure = root.querySelector(".chemdl-mb-drawing");
    this.tables = root.querySelector(".chemdl-mb-tables");
    this.width = parseInt(root.getAttribute("data-width"), 10) || 360;
    this.height = parseInt(root.getAttribute("data-height"), 10) || 260;
    this.request = 0;
    var self = this;
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.show(self.input.value);
    });
    var warm = function () { loadRDKit().catch(function () { /* reported when the reader submits */ }); };
    this.input.addEventListener("focus", warm); // the reader is about to type: fetch RDKit.js now
    root.setAttribute("data-state", "ready");
  }

  /** Counts the results shown (a table or a message), in data-results: tests wait on it. */
  Box.prototype.finished = function () {
    this.results = (this.results || 0) + 1;
    this.root.setAttribute("data-results", String(this.results));
    this.root.removeAttribute("aria-busy");
  };

  Box.prototype.say = function (text, kind) {
    this.message.textContent = text;
    this.message.className = "chemdl-mb-message" + (kind ? " chemdl-mb-" + kind : "");
  };

  Box.prototype.show = function (smiles) {
    var self = this, request = ++this.request;
    this.root.setAttribute("data-state", "busy");
    this.root.setAttribute("aria-busy", "true");
    var slow = setTimeout(function () {
      if (request === self.request) self.say("Loading RDKit in your browser (about 7 MB, once per visit)…");
    }, 150);
    var fail = function (text) {
      if (request !== self.request) return;
      self.figure.innerHTML = "";
      self.tables.innerHTML = "";
      self.root.setAttribute("data-shown", String(smiles).trim());
      self.root.setAttribute("data-state", "error");
      self.say(text, "error");
      self.finished();
    };
    loadRDKit().then(function (RDKit) {
      clearTimeout(slow);
      if (request !== self.request) return; // a newer SMILES was submitted meanwhile
      var result;
      try {
        result = featureTables(RDKit, smiles);
        result.svg = drawing(RDKit, smiles, self.width, self.height);
      } catch (err) {
        if (err instanceof InvalidSmiles) self.invalid(smiles, err.message);
        else fail("RDKit could not compute the tables of this molecule (" + (err && err.message || err) + ").");
        return;
      }
      self.render(smiles, result);
    }, function (err) {
      clearTimeout(slow);
      fail("The molecule box could not load RDKit in this browser (" + (err && err.message || err) +
        "). In a notebook, feature_table(smiles) gives the same tables.");
    });
  };

  Box.prototype.invalid = function (smiles, message) {
    this.figure.innerHTML = "";
    this.tables.innerHTML = "";
    this.input.setAttribute("aria-invalid", "true");
    this.root.setAttribute("data-shown", String(smiles).trim());
    this.root.setAttribute("data-state", "invalid");
    this.say(message, "error");
    this.finished();
  };

  Box.prototype.render = function (smiles, result) {
    var text = String(smiles).trim(), caps = captions(result);
    this.input.removeAttribute("aria-invalid");
    this.figure.innerHTML = result.svg;
    var svg = this.figure.querySelector("svg");
    if (svg) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", "Drawing of " + text + " with its atoms numbered 1 to " +
        result.atoms.length + ", the rows of the atom table");
    }
    this.tables.innerHTML = "";
    this.tables.appendChild(table("atoms", result.atoms, ATOM_COLUMNS, caps.atoms));
    this.tables.appendChild(table("bonds", result.bonds, BOND_COLUMNS, caps.bonds));
    this.root.setAttribute("data-shown", text);
    this.root.setAttribute("data-state", "done");
    var na = result.atoms.length, nb = result.bonds.length;
    this.say(text + ": " + na + (na === 1 ? " atom" : " atoms") + "; " +
      (nb ? nb + (nb === 1 ? " bond" : " bonds") : "no bonds") + ". Computed in your browser by RDKit.js.");
    this.finished();
  };

  function addStylesheet() {
    if (document.querySelector("link[data-chemdl-molecule-box]")) return;
    var link = el("link", { rel: "stylesheet", href: assetUrl("molecule-box.css"), "data-chemdl-molecule-box": "" });
    document.head.appendChild(link);
  }

  /** Wire up every molecule box on the page that is not wired yet. */
  function start() {
    if (typeof document === "undefined") return;
    var go = function () {
      addStylesheet();
      var boxes = document.querySelectorAll(".chemdl-molecule-box:not([data-state])");
      Array.prototype.forEach.call(boxes, function (root) { root.chemdlBox = new Box(root); });
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  }

  return {
    featureTables: featureTables,
    drawing: drawing,
    numberedSmiles: numberedSmiles,
    formatMass: formatMass,
    InvalidSmiles: InvalidSmiles,
    rdkitReason: rdkitReason,
    pyRepr: pyRepr,
    loadRDKit: loadRDKit,
    start: start,
    ATOM_COLUMNS: ATOM_COLUMNS,
    BOND_COLUMNS: BOND_COLUMNS,
    BOND_TYPES: BOND_TYPES,
    BOND_STEREOS: BOND_STEREOS
  };
});
