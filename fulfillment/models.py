"""fulfillment: models arrive with their issue."""
