"""The molecule box of the static GNN page (issue #18 item 1): RDKit.js in the reader's browser.

* ``test_gnn_page_box_matches_feature_table``: on the built book, served on localhost with every other
  host blocked, a reader types molecules into the GNN chapter's box; every cell of both tables (and
  the RDKit names in the tooltips) must equal ``chemdl_utils.feature_table`` for that SMILES, the
  drawing must carry the atom numbers, an invalid SMILES must give the message, and RDKit's
  WebAssembly must come from the site itself.
* ``test_rdkit_js_tables_equal_feature_table``: the same JavaScript function (molecule-box.js) run by
  node on more molecules, against the Python tables.
* the remaining tests check the HTML that ``static_molecule_box`` writes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from chemdl_utils import feature_table
from chemdl_utils.chem import InvalidSmilesError

REPO = Path(__file__).resolve().parents[2]
BOX_JS = REPO / "chemdl_utils" / "site" / "assets" / "molecule-box.js"
RDKIT_JS = REPO / "node_modules" / "@rdkit" / "rdkit" / "dist" / "RDKit_minimal.js"
GNN_PAGE = "book/graphs/gnn.html"
FIRST_MOLECULE = "OC(=O)/C=C/C(=O)O"  # what book/graphs/gnn.md passes to static_molecule_box
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# typed into the box, one after the other: each kind of thing the tables must get right
MOLECULES = [
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",  # caffeine: fused aromatic rings, ring-closure bond order
    "[13CH4]",  # isotope: mass of 13C, hydrogens written in the bracket
    "[2H]O[2H]",  # heavy water: hydrogens as atoms of their own
    "C[C@H](N)C(=O)O",  # L-alanine (@)
    "C[C@@H](N)C(=O)O",  # D-alanine (@@)
    "F/C=C/F",  # E
    "F/C=C\\F",  # Z
    "F/C(Cl)=C/Br",  # Z, although F and Br are written trans (Cl outranks F)
    "C/C=C/C(/F)=C/Cl",  # two stereo double bonds, E and Z
    "C1CCC/C=C/CCC1",  # a stereo double bond in a ring
    "c1ccc2ccccc2c1",  # naphthalene
    "c1cc[nH]c1",  # pyrrole: aromatic NH
    "[O-][N+](=O)c1ccccc1",  # nitrobenzene: charges next to an aromatic ring
    "[Na+].[Cl-]",  # a salt: two fragments, no bonds
    "CC(=O)[O-].[NH4+]",  # ammonium acetate
    "[NH3]->[Pt](<-[NH3])(Cl)Cl",  # cisplatin: dative bonds to a metal
    "[Cu+2].[O-]S(=O)(=O)[O-]",  # copper sulfate
    "OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O",  # glucose
    "[235U]",  # one atom, isotope of a heavy element
    "  CCO  ",  # spaces around the SMILES are ignored, as feature_table does
]
INVALID = "C1CC"  # ring 1 is never closed

EXTRACT_JS = """(box) => {
  const cells = (row) => Array.from(row.cells).map(c => [c.tagName.toLowerCase(), c.textContent, c.getAttribute('title')]);
  const tables = {};
  box.querySelectorAll('table.chemdl-mb-table').forEach(t => {
    tables[t.dataset.table] = {
      caption: t.caption ? t.caption.textContent : null,
      head: cells(t.tHead.rows[0]),
      rows: Array.from(t.tBodies[0].rows).map(cells),
    };
  });
  const input = box.querySelector('input.chemdl-mb-input');
  const svg = box.querySelector('.chemdl-mb-drawing svg');
  return {
    state: box.dataset.state, shown: box.dataset.shown, results: +(box.dataset.results || 0),
    message: box.querySelector('.chemdl-mb-message').textContent,
    invalid: input.getAttribute('aria-invalid'),
    tables,
    svg_label: svg ? svg.getAttribute('aria-label') : null,
    notes: svg ? svg.querySelectorAll('.note').length : 0,
  };
}"""


def expected_tables(smiles: str) -> dict:
    """The two tables as the box must show them: cell texts and tooltips, from feature_table."""
    from rdkit import Chem

    from chemdl_utils.widgets import _MB_COLUMN_HELP

    atoms, bonds = feature_table(smiles)
    out = {}
    for kind, frame, first in (("atoms", atoms, "atom"), ("bonds", bonds, "bond")):
        head = [["th", first, None]] + [["th", c, _MB_COLUMN_HELP[c]] for c in frame.columns]
        rows = []
        for number, row in frame.iterrows():
            cells = [["th", str(number), None]]
            for c in frame.columns:
                v = row[c]
                text = f"{float(v):.3f}" if c == "atomic_mass" else str(v) if c == "element" else str(int(v))
                title = None
                if c == "bond_type":
                    title = str(Chem.BondType.values[int(v)])
                elif c == "stereo":
                    title = str(Chem.BondStereo.values[int(v)])
                cells.append(["td", text, title])
            rows.append(cells)
        out[kind] = {"head": head, "rows": rows}
    return out


def compare(smiles: str, got: dict) -> list[str]:
    """Every difference between the box's tables and feature_table's, cell by cell."""
    want = expected_tables(smiles)
    problems = []
    for kind in ("atoms", "bonds"):
        g = got["tables"].get(kind)
        if g is None:
            problems.append(f"{smiles!r}: no {kind} table")
            continue
        if g["head"] != want[kind]["head"]:
            problems.append(f"{smiles!r} {kind} columns: box {g['head']} != python {want[kind]['head']}")
        if len(g["rows"]) != len(want[kind]["rows"]):
            problems.append(f"{smiles!r} {kind}: box has {len(g['rows'])} rows, feature_table {len(want[kind]['rows'])}")
        for k, (gr, wr) in enumerate(zip(g["rows"], want[kind]["rows"]), start=1):
            for gc, wc, name in zip(gr, wr, [kind[:-1]] + [h[1] for h in want[kind]["head"][1:]]):
                if gc != wc:
                    problems.append(f"{smiles!r} {kind} row {k} {name}: box {gc[1:]} != feature_table {wc[1:]}")
    return problems


# ---------------------------------------------------------------------------------------------
# the static GNN page in a browser


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_gnn_page_box_matches_feature_table(offline_context, book_url, built_book):
    assert (built_book / "_static/chemdl/rdkit/RDKit_minimal.wasm").is_file(), "RDKit.js is not vendored"
    page = offline_context.new_page()
    requests: list[str] = []
    responses: dict[str, int] = {}
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: responses.__setitem__(r.url, r.status))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    problems: list[str] = []
    t0 = time.perf_counter()
    try:
        page.goto(book_url + GNN_PAGE, wait_until="load", timeout=60_000)
        page.wait_for_selector(".chemdl-molecule-box[data-state=ready]", timeout=30_000)
        assert page.locator(".chemdl-molecule-box").count() == 1, "the GNN page should have one molecule box"
        box = page.locator(".chemdl-molecule-box")

        # labelled and announced: the input is found by its label, the message is a live region
        field = page.get_by_label("SMILES", exact=True)
        assert field.get_attribute("class") == "chemdl-mb-input"
        message = box.locator(".chemdl-mb-message")
        assert message.get_attribute("aria-live") == "polite" and message.get_attribute("role") == "status"

        # the first molecule was computed at build time: same tables, nothing downloaded yet
        first = box.evaluate(EXTRACT_JS)
        assert first["shown"] == FIRST_MOLECULE and field.input_value() == FIRST_MOLECULE
        problems += compare(FIRST_MOLECULE, first)
        assert not any("RDKit_minimal" in u for u in requests), "RDKit.js loaded before the reader used the box"

        def submit(smiles: str, how: str = "enter") -> dict:
            before = box.evaluate("b => +(b.dataset.results || 0)")
            field.fill(smiles)
            if how == "enter":
                field.press("Enter")
            else:  # keyboard only: Tab from the field to the button, then Space
                field.focus()
                page.keyboard.press("Tab")
                assert page.evaluate("document.activeElement.textContent") == "Show"
                page.keyboard.press("Space")
            page.wait_for_function(
                f"() => +(document.querySelector('.chemdl-molecule-box').dataset.results || 0) > {before}",
                timeout=90_000,
            )
            return box.evaluate(EXTRACT_JS)

        # the same molecule again, now computed by RDKit.js: identical tables, captions included
        again = submit(FIRST_MOLECULE, how="button")
        assert again["state"] == "done", again["message"]
        assert again["tables"] == first["tables"], "RDKit.js and the build-time tables differ for the first molecule"
        t_first = time.perf_counter()

        compared = 0
        for smiles in MOLECULES:
            got = submit(smiles)
            text = smiles.strip()
            if got["state"] != "done" or got["shown"] != text:
                problems.append(f"{smiles!r}: state {got['state']}, shown {got['shown']!r}: {got['message']}")
                continue
            problems += compare(text, got)
            n_atoms = len(feature_table(text)[0])
            if got["notes"] < n_atoms:
                problems.append(f"{smiles!r}: the drawing has {got['notes']} atom-number glyphs for {n_atoms} atoms")
            if got["svg_label"] != f"Drawing of {text} with its atoms numbered 1 to {n_atoms}, the rows of the atom table":
                problems.append(f"{smiles!r}: drawing label {got['svg_label']!r}")
            if got["invalid"] is not None:
                problems.append(f"{smiles!r}: input still marked aria-invalid")
            compared += 1

        # an invalid SMILES: a message, no tables, the field marked invalid; feature_table agrees
        with pytest.raises(InvalidSmilesError) as python_error:
            feature_table(INVALID)
        bad = submit(INVALID)
        assert bad["state"] == "invalid", bad
        assert bad["message"] == str(python_error.value), (bad["message"], str(python_error.value))
        assert "unclosed ring" in bad["message"]
        assert bad["invalid"] == "true" and bad["tables"] == {} and bad["notes"] == 0
        # and the box recovers
        good = submit("CCO")
        assert good["state"] == "done" and good["invalid"] is None and not compare("CCO", good)
    finally:
        elapsed = time.perf_counter() - t0
        page.close()

    assert not problems, f"{len(problems)} differences from feature_table:\n  " + "\n  ".join(problems[:60])
    assert compared == len(MOLECULES)
    wasm = [u for u in requests if u.endswith("/_static/chemdl/rdkit/RDKit_minimal.wasm")]
    assert wasm and all(responses.get(u) == 200 for u in wasm), f"RDKit's wasm not served by the site: {wasm}"
    leaving = [u for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
               and urlsplit(u).hostname not in LOCAL_HOSTS]
    assert not leaving, f"requests left localhost: {leaving}"
    assert not errors, f"console errors: {errors}"
    print(f"molecule box: {compared} molecules + the first one + 1 invalid compared cell by cell with "
          f"feature_table in {elapsed:.1f} s (RDKit.js loaded and first result after {t_first - t0:.1f} s)")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.xdist_group("book")
def test_box_says_why_when_rdkit_cannot_load_and_outside_the_book(browser, book_server, tmp_path):
    """A site whose RDKit wasm does not arrive: a message, not a box that hangs. A page that is not
    the book (no data-content_root, e.g. a notebook): the box says where it works, fetches nothing."""
    from chemdl_utils import site
    from chemdl_utils.widgets import static_molecule_box

    site.vendor_assets(REPO, tmp_path)
    box = static_molecule_box("CCO").data
    page_html = '<!DOCTYPE html><html lang="en"{root}><head><meta charset="utf-8"><title>box</title></head><body><main>{box}</main></body></html>'
    (tmp_path / "index.html").write_text(page_html.format(root=' data-content_root="./"', box=box))
    (tmp_path / "notebook.html").write_text(page_html.format(root="", box=box))
    context = browser.new_context()
    requests: list[str] = []
    context.route("**/RDKit_minimal.wasm", lambda route, request: route.abort("internetdisconnected"))
    try:
        with book_server(tmp_path) as url:
            page = context.new_page()
            page.goto(url + "index.html")
            page.wait_for_selector(".chemdl-molecule-box[data-state=ready]")
            field = page.get_by_label("SMILES", exact=True)
            field.fill("CCN")
            field.press("Enter")
            page.wait_for_function("() => document.querySelector('.chemdl-molecule-box').dataset.results === '1'",
                                   timeout=90_000)
            state = page.locator(".chemdl-molecule-box").get_attribute("data-state")
            message = page.locator(".chemdl-mb-message").text_content()
            assert state == "error" and message.startswith("The molecule box could not load RDKit"), (state, message)
            assert page.locator(".chemdl-mb-table").count() == 0  # no stale tables of the first molecule

            page.on("request", lambda r: requests.append(r.url))
            page.goto(url + "notebook.html")
            message = page.locator(".chemdl-mb-message").text_content()
            assert "only on the course's web pages" in message, message
            assert page.locator("td[data-col=element]").first.text_content() == "C"  # the first molecule stays
    finally:
        context.close()
    assert not [u for u in requests if "molecule-box" in u or "RDKit" in u], requests


# ---------------------------------------------------------------------------------------------
# the same JavaScript under node, on more molecules

NODE_SCRIPT = """
const init = require(process.argv[1]);
const box = require(process.argv[2]);
const smiles = JSON.parse(require('fs').readFileSync(0, 'utf8'));
init().then(R => {
  R.disable_logging();
  R.use_legacy_stereo_perception(true);
  const out = smiles.map(s => {
    try { return box.featureTables(R, s); }
    catch (e) { if (e instanceof box.InvalidSmiles) return {invalid: e.message}; throw e; }
  });
  process.stdout.write(JSON.stringify(out));
});
"""

NODE_EXTRA = [
    "[H][H]", "[H+]", "[OH-]", "[12C]", "[99C]", "*C", "[3H]C", "C$C", "[C-]#[O+]", "N=[N+]=[N-]",
    "[2H]/C=C/[2H]", "F/C=C/[2H]", "C/C(Cl)=C(/Cl)C", "OC(=O)/C=C\\C(=O)O", "C1CCCC/C=C\\CCC1",
    "C12C3C4C1C5C2C3C45", "[Fe]([C-]#[O+])([C-]#[O+])([C-]#[O+])([C-]#[O+])[C-]#[O+]", "[n+]1ccccc1C", "o1cccc1", "s1cccc1",
    "C[S@](=O)c1ccccc1", "[Xe]", "[Og]", "CC O", "CC |$foo;;$|", "B(O)(O)c1ccccc1",
    # invalid: unclosed ring, empty, five bonds on carbon, no Kekulé form, dangling dot, unknown element
    "C1CC", "", "C(C)(C)(C)(C)C", "c1cccc1", "C.", "[Xy]",
]


def _node() -> str:
    node = shutil.which("node")
    if not node:
        pytest.skip("UNAVAILABLE: node is missing (apt-get install nodejs npm; the Makefile's `npm ci` needs it too)")
    if not RDKIT_JS.is_file():
        pytest.skip(f"UNAVAILABLE: {RDKIT_JS} is missing: run `npm ci` at the repository root")
    return node


def test_rdkit_js_tables_equal_feature_table():
    node = _node()
    from chemdl_utils.data import load_dataset

    smiles = MOLECULES + [INVALID] + NODE_EXTRA + list(load_dataset("freesolv")["smiles"])[:250]
    run = subprocess.run([node, "-e", NODE_SCRIPT, str(RDKIT_JS), str(BOX_JS)], input=json.dumps(smiles),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout)
    assert len(results) == len(smiles)
    problems, invalid = [], 0
    for s, got in zip(smiles, results):
        try:
            atoms, bonds = feature_table(s)
        except InvalidSmilesError as exc:
            invalid += 1
            if got.get("invalid") != str(exc):
                problems.append(f"{s!r}: feature_table says {str(exc)!r}, RDKit.js {got.get('invalid', got)!r}")
            continue
        if "invalid" in got:
            problems.append(f"{s!r}: RDKit.js says {got['invalid']}")
            continue
        want_atoms = [
            {"element": r.element, "atomic_number": int(r.atomic_number), "num_neighbors": int(r.num_neighbors),
             "num_hydrogens": int(r.num_hydrogens), "formal_charge": int(r.formal_charge),
             "atomic_mass": f"{r.atomic_mass:.3f}", "in_ring": int(r.in_ring)}
            for r in atoms.itertuples()
        ]
        want_bonds = [{c: int(getattr(r, c)) for c in ("atom_i", "atom_j", "bond_type", "stereo")} for r in bonds.itertuples()]
        if got["atoms"] != want_atoms:
            problems.append(f"{s!r} atoms: RDKit.js {got['atoms']} != feature_table {want_atoms}")
        if got["bonds"] != want_bonds:
            problems.append(f"{s!r} bonds: RDKit.js {got['bonds']} != feature_table {want_bonds}")
    assert not problems, "\n".join(problems[:20])
    assert invalid == 7  # INVALID and the six invalid ones of NODE_EXTRA
    assert len(smiles) - invalid > 280


def test_mass_formatting_follows_the_python_table():
    node = _node()
    masses = [12.011, 13.00335483507, 18.998403163, 2.01410177812, 35.453, 0.0, 294.0, 238.02891, 1.0005, 12.0125]
    code = ("const b = require(process.argv[1]); const m = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
            "process.stdout.write(JSON.stringify(m.map(b.formatMass)));")
    run = subprocess.run([node, "-e", code, str(BOX_JS)], input=json.dumps(masses), capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    import numpy as np
    import pandas as pd

    want = [f"{v:.3f}" for v in pd.Series(np.array(masses, dtype=np.float32)).round(3)]
    assert json.loads(run.stdout) == want


# ---------------------------------------------------------------------------------------------
# the HTML of static_molecule_box


def test_static_box_html_is_labelled_and_holds_the_first_molecule():
    from html.parser import HTMLParser

    from chemdl_utils.widgets import static_molecule_box

    html = static_molecule_box("[13CH4]", size=(300, 200)).data

    class Parse(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags: list[tuple[str, dict]] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    p = Parse()
    p.feed(html)
    by_tag = lambda t: [a for tag, a in p.tags if tag == t]  # noqa: E731
    (field,) = [a for a in by_tag("input") if "chemdl-mb-input" in a.get("class", "")]
    (label,) = by_tag("label")
    assert label["for"] == field["id"] and field["value"] == "[13CH4]"
    (live,) = [a for a in by_tag("p") if a.get("aria-live")]
    assert live["aria-live"] == "polite" and live["role"] == "status" and live["id"] in field["aria-describedby"]
    (root,) = [a for a in by_tag("div") if a.get("class") == "chemdl-molecule-box"]
    assert (root["data-width"], root["data-height"], root["data-shown"]) == ("300", "200", "[13CH4]")
    assert "data-state" not in root  # molecule-box.js wires up boxes without it
    assert '<td data-col="atomic_mass">13.003</td>' in html and '<td data-col="num_hydrogens">4</td>' in html
    assert "_static/chemdl/molecule-box.js" in html and "http" not in html.split("<script>")[1]


def test_static_box_refuses_bad_input():
    from chemdl_utils.widgets import static_molecule_box

    with pytest.raises(InvalidSmilesError, match="C1CC"):
        static_molecule_box("C1CC")
    with pytest.raises(ValueError, match="size"):
        static_molecule_box("CCO", size=(10, 10))
    with pytest.raises(ValueError, match="size"):
        static_molecule_box("CCO", size="big")  # type: ignore[arg-type]


def test_two_boxes_on_one_page_have_their_own_ids():
    from chemdl_utils.widgets import static_molecule_box

    a, b = static_molecule_box("C").data, static_molecule_box("N").data
    ident = lambda h: h.split('id="', 1)[1].split('"', 1)[0]  # noqa: E731
    assert ident(a) != ident(b)
