"""The flow: its stages as small cached objects, the run context that shares their outputs, and `run_flow`."""
