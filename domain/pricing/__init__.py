"""The provider's pricing (``pre_price_days``) reproduced locally, to the cent.

``engine`` computes schedules in Decimal; ``product`` holds the lender's fees and settings and the
INSS rules a product may enforce; ``render`` prints a quote in the provider's own response shapes.
"""
