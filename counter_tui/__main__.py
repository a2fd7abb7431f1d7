"""``python -m counter_tui`` — same as the ``counter-tui`` command."""

from counter_tui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
