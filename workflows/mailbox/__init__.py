"""How a webhook finds its loan: one mailbox workflow per provider key (see webhooks/gateway/DESIGN/md).

- ``contract``: ids, signal names and messages the gateway, the loan's activities and the mailbox share.
- ``workflow``: the ``ProviderKeyMailbox`` workflow.
- ``claims``: the activity-side client that claims and releases keys for a loan.
"""
