"""`python -m ganaug` runs the whole flow (or, given a subcommand first, one stage or tool)."""

from ganaug.cli.commands import console

console()
