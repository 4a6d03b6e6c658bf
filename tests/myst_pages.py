"""Small MyST notebook pages written by tests (the header every notebook page of the book has)."""

from __future__ import annotations

NOTEBOOK_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
{extra}---
"""


def notebook_page(body: str, extra_meta: str = "") -> str:
    """A MyST Markdown notebook page: the jupytext header (plus ``extra_meta`` YAML lines) and ``body``."""
    return NOTEBOOK_HEADER.format(extra=extra_meta) + body
