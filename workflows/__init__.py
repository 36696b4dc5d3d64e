"""Workflows: one LoanWorkflow per loan, and one mailbox per provider key (webhook routing).

Workflow code is deterministic: no I/O, no clocks, no randomness — workflow.now(), timers and
activities only. The business rules it applies are pure functions in ``domain``.
"""
