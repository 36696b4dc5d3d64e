"""Asking the provider again for the webhooks it gave up on (its resend API), on a Temporal Schedule."""
