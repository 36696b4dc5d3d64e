"""A test double of the second provider (seed 003): its login, its product table and its own pricing,
operations that advance through their statuses over time, its 400 shape, per-CPF scenarios and fault
switches. A development tool like ``sandbox``: shipped code never imports it, and it imports nothing of
the lender's code — its models, statuses and prices are its own reading of the seeds, so where the
lender's adapter reads them otherwise the two disagree, and a test can see it."""
