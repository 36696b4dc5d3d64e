"""A test double of the second provider (seed 003): its login, its product table, operations that
advance through their statuses over time, its 400 shape, per-CPF scenarios and fault switches.
A development tool like ``sandbox``: shipped code never imports it."""
