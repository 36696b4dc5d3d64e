"""Pensioners' data encrypted end to end: a payload codec (AES-GCM) and the codec server the Web UI
calls to decode, so CPFs, names, accounts and documents are unreadable in Temporal's database and
UI to anyone without the key."""
