"""``python -m chemdl_utils`` is the ``chemdl`` command."""

from .cli import main

raise SystemExit(main())
