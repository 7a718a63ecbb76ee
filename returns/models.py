"""returns: models arrive with their issue."""
