"""Finding codes of the stock checks (D1), kept apart from the services so that the rule
registry (`validation.checks.RULES`) can name them without loading models."""

STOCK_SHORT = "STOCK_SHORT"
STOCK_LOW = "STOCK_LOW"
STOCK_BACKORDER = "STOCK_BACKORDER"
