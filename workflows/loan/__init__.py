"""One loan, one durable workflow: everything a LoanWorkflow is, in one place.

- ``contract``: what callers agree on — workflow type, id scheme and its inverse, input and outcome.
- ``client``: the typed client other services use (Updates and queries referenced by method).
- ``rules``: the rule set a loan decides by, pinned in its input at start.
- ``state``: all the state a loan carries (one typed object, through continue-as-new).
- ``facts``: the pure reducer: a provider event changes facts in the state, nothing else.
- ``endings``: the pure decision of how (and whether) a loan ends now.
- ``workflow`` / ``operator``: the workflow (stages, waiting) and its operator Updates.
- ``visibility``: search attributes, summary and current details for the Web UI (never PII).
- ``activities`` (+ ``activity_models``, ``mapping``, ``documents``, ``errors``): the calls out.

Workflow code is deterministic: no I/O, no clocks, no randomness — workflow.now(), timers and
activities only. Business decisions are pure functions (``domain``, ``facts``, ``endings``).
"""
