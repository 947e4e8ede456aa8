"""The one exception type ganaug raises for bad input, and how the command line shows it."""

import sys


class GanaugError(Exception):
    """A user-facing error: one line naming what is wrong and how to fix it.

    The command line prints it alone (no traceback) and exits non-zero.
    """


def print_error(error: object) -> None:
    """Print `error` to stderr as the command line's one line: `ganaug: error: ...`."""
    print(f"ganaug: error: {' '.join(str(error).split())}", file=sys.stderr)
