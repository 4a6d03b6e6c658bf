"""Accessibility fixes applied to every page of the built book (after Sphinx, in ``rewrite_pages``).

axe-core (``tests/browser/test_accessibility.py``) finds these serious or critical problems in the
HTML that Sphinx, sphinx-book-theme 1.3 and pydata-sphinx-theme 0.17 write; each fix is the
smallest change to the markup that removes the problem for screen-reader users:

=================================  ==============================================================
axe rule                           fix
=================================  ==============================================================
``summary-name`` (serious)         the sidebar's expand/collapse toggles (an icon-only
                                   ``<summary>``) get an accessible name
``label-content-name-mismatch``    the search fields' ``aria-label="Search"`` hid their visible
(serious)                          text (``Search Ctrl+K``), and myst-nb's hidden-code toggles'
                                   ``aria-label="Toggle hidden content"`` hid "Show code cell
                                   source": the label goes, the visible text names the control;
                                   the colour-mode button's ``aria-label`` becomes visually hidden
                                   text ("Color mode:") before the icon of the current mode
``aria-required-children``         Sphinx's bibliography is ``role="list"`` holding
(critical)                         ``role="doc-biblioentry"`` entries (a role deprecated in
                                   DPUB-ARIA 1.1 and not a list item): entries become
                                   ``role="listitem"``
``image-alt`` (our alt-text check)  the module index's collapse/expand image (``alt="-"``) gets
                                   an alt text that says what it does
=================================  ==============================================================
"""

from __future__ import annotations

import re

__all__ = ["accessibility_fixes", "NAV_TOGGLE_LABEL", "MODINDEX_TOGGLE_ALT"]

#: accessible name of the sidebar's expand/collapse toggles
NAV_TOGGLE_LABEL = "Show or hide the pages of this section"

_NAV_SUMMARY = '<summary><span class="toctree-toggle" role="presentation">'
_SEARCH_FIELD = re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="Search"')
_THEME_SWITCH = re.compile(r'(<button [^>]*theme-switch-button[^>]*?) aria-label="Color mode"([^>]*>)')
_HIDDEN_CONTENT = '<summary aria-label="Toggle hidden content">'
_BIBLIO_ENTRY = 'role="doc-biblioentry"'
#: alt text of the module index's toggle image (Sphinx writes ``alt="-"``)
MODINDEX_TOGGLE_ALT = "Collapse or expand this group of modules"
_MODINDEX_TOGGLE = re.compile(r'(<img src="[^"]*_static/(?:minus|plus)\.png" class="toggler"[^>]*?) alt="[-+]"')


def accessibility_fixes(text: str) -> str:
    """``text`` (one HTML page) with the fixes in the module's table applied; idempotent."""
    text = text.replace(_NAV_SUMMARY, f'<summary aria-label="{NAV_TOGGLE_LABEL}">'
                        '<span class="toctree-toggle" role="presentation">')
    text = _SEARCH_FIELD.sub(r"\1", text)
    text = _THEME_SWITCH.sub(r'\1\2<span class="visually-hidden">Color mode:</span>', text)
    text = text.replace(_HIDDEN_CONTENT, "<summary>")
    text = text.replace(_BIBLIO_ENTRY, 'role="listitem"')
    text = _MODINDEX_TOGGLE.sub(rf'\1 alt="{MODINDEX_TOGGLE_ALT}"', text)
    return text
