"""The public API: ``chemdl_utils.__all__`` and the submodules' ``__all__`` agree and resolve."""

from __future__ import annotations

import importlib

import pytest

import chemdl_utils


@pytest.mark.parametrize("module", sorted(chemdl_utils._EXPORTS))
def test_every_submodule_name_is_exported_and_resolves(module):
    mod = importlib.import_module(f"chemdl_utils.{module}")
    assert sorted(mod.__all__) == sorted(chemdl_utils._EXPORTS[module])
    for name in mod.__all__:
        assert name in chemdl_utils.__all__
        assert getattr(chemdl_utils, name) is getattr(mod, name)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        chemdl_utils.nope  # noqa: B018


def test_public_functions_have_docstrings():
    missing = [n for n in chemdl_utils.__all__ if n != "__version__" and callable(getattr(chemdl_utils, n)) and not getattr(chemdl_utils, n).__doc__]
    assert not missing, f"public names without a docstring: {missing}"


def test_import_is_lazy():
    import subprocess
    import sys

    code = "import sys, chemdl_utils; print('torch' in sys.modules, 'rdkit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
