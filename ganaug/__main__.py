"""`python -m ganaug` runs the whole flow."""

from ganaug.cli.main import main

main()
