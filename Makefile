# Deep Learning in Chemistry: set-up, book and tests.
#   make book   create .venv, install everything, execute the chapters and build _build/html
#   make test   create .venv, install everything (test extras too) and the Debian packages the tests
#               need (scripts/system-deps.sh), run the full test suite
#   make serve  build (if needed) and serve the book on http://127.0.0.1:8000
PYTHON ?= python3
VENV ?= .venv
# torch is installed first, and only when the venv has none: CPU wheel 2.13.0 here; on a Linux
# GPU machine PyPI's torch==2.13.0 includes CUDA. To use another build (a specific CUDA), install
# it into $(VENV) first; it is kept.
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.chemdl-installed

.PHONY: venv sysdeps book serve test clean

venv: $(STAMP)

# npm ci: MathJax, require.js and the Jupyter widgets manager, pinned in package-lock.json; the
# book serves them itself so it works offline (chemdl_utils/site copies them into _build/html)
$(STAMP): pyproject.toml package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	@command -v npm >/dev/null || { echo "npm is needed to install the book's JavaScript assets: apt-get install npm (or nodejs from nodejs.org)"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts
	touch $(STAMP)

book: venv
	$(VENV)/bin/chemdl book build

serve: book
	$(VENV)/bin/chemdl book serve

# Debian packages (chromium, bubblewrap, postgresql, RDKit's X libraries) in one serial step before
# pytest starts; as non-root it prints the apt-get command instead (and fails under CI=true)
sysdeps:
	bash scripts/system-deps.sh

test: venv sysdeps
	$(PY) -m pytest -n 2 --dist loadgroup --durations=25

clean:
	rm -rf _build
