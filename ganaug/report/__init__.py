"""The benchmark report: read a Hydra multirun's job folders, compare strategies, write Markdown and PNGs."""
