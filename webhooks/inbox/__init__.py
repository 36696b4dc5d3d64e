"""The webhook inbox: where every verified webhook waits, durably, until the relay delivers it to its
loan (see webhooks/gateway/DESIGN/md). The gateway writes events, the loans' activities write key routes,
the relay reads both; the bodies are sealed to the relay's key, so the gateway cannot read back what
it stored."""
