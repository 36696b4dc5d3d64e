"""The webhook gateway: every provider callback becomes a durable signal to the right loan.

Authenticated (HMAC), validated (tolerant models), never lost (2xx only once Temporal has the
signal; 503 otherwise, so the provider retries), never applied twice (event identity). See
DESIGN.md for how a webhook finds its loan when it arrives before the loan knows its key.
"""
