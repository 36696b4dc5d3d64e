"""A stand-in for the lender's sales channel (``python -m devtools.sales_channel``): it receives the
loans' events as the lender's systems would — verifies each Standard Webhooks signature, keeps the first
delivery of each ``webhook-id`` and counts the repeats — and shows them (``GET /events``). Never
shipped; it imports nothing of the code that sends to it."""
