"""accounting: models arrive with their issue."""
