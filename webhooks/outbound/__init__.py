"""Loan events to the lender's sales channel: the outbox, the notifier (signed Standard Webhooks), its settings."""
