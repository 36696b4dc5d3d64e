"""The relay: its own process (scale it out; rows are claimed with ``FOR UPDATE SKIP LOCKED``) that
delivers each webhook stored in the inbox to its loan, as the ``provider_event`` signal, once the
loan has claimed the event's provider key. It alone holds the key that opens the stored bodies."""
