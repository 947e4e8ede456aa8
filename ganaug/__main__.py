"""`python -m ganaug` runs the whole flow."""

from ganaug.apps.main import main

main()
