"""Activities: every call to the outside world a loan makes (the provider, Temporal for key claims).

Each is idempotent — a retry after a timeout must not create a second debt, upload or request —
and raises Temporal ApplicationErrors whose retryability follows the provider's answer.
"""
