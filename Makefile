# Deep Learning in Chemistry: set-up, book and tests.
#   make book   create .venv, install everything, execute the chapters and build _build/html
#   make test   create .venv, install everything (test extras too), run the full test suite
#   make serve  build (if needed) and serve the book on http://127.0.0.1:8000
PYTHON ?= python3
VENV ?= .venv
# torch is installed first, and only when the venv has none: CPU wheel 2.13.0 here; on a Linux
# GPU machine PyPI's torch==2.13.0 includes CUDA. To use another build (a specific CUDA), install
# it into $(VENV) first; it is kept.
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.chemdl-installed

.PHONY: venv book serve test clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

book: venv
	$(VENV)/bin/chemdl book build

serve: book
	$(VENV)/bin/chemdl book serve

test: venv
	$(PY) -m pytest -n 2 --dist loadgroup

clean:
	rm -rf _build
