"""The provider's API as we speak it: typed models, enumerator tables, wire encoding, HTTP client.

Inbound payloads (responses, webhooks) are parsed tolerantly, because the manuals warn that
fields are added at any time; outbound payloads are validated strictly, because a request we
send wrong can create a wrong debt.
"""
