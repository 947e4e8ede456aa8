"""Test helpers shared by the test modules: toy data, fakes, sweep folders, the command-line runner."""
