"""The command line: thin Hydra and argparse entry points over the flow and the report, and the config."""
