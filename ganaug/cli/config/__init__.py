"""Configuration: schemas for every group, the config folder's location, and validation."""

from ganaug.cli.config.location import config_dir
from ganaug.cli.config.resolvers import register_resolvers
from ganaug.cli.config.schema import register_schemas

register_schemas()
register_resolvers()

__all__ = ["config_dir", "register_resolvers", "register_schemas"]
