"""``python -m tunewise``: the ``tunewise`` command (see :mod:`tunewise.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
