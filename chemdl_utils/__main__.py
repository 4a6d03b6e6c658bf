"""``python -m chemdl_utils`` is the ``chemdl`` command."""

from .cli import main

if __name__ == "__main__":  # importing this module (as anything may) must not run the command
    raise SystemExit(main())
