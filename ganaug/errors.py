"""The one exception type ganaug raises for bad input."""


class GanaugError(Exception):
    """A user-facing error: one line naming what is wrong and how to fix it.

    The command line prints it alone (no traceback) and exits non-zero.
    """
