"""The sandbox provider: a separate HTTP server behaving as the manuals describe.

A test double of the outside world for the run command and the integration tests — never part of
production. Outcomes follow the manuals' sandbox sections (by the CPF's first digit); fault
switches, per request or per CPF, add what real providers do on bad days.

It imports nothing from the packages it stands in for (activities, domain, runtime, ops, webhooks,
workflows, starter, worker): its request bodies, enumerators, Dataprev tables, pricing, calendar, JSON,
webhook signing and secret checks are its own, read from the seeds and the provider's pages, so that it
can disagree with the lender's code where that code is wrong.
"""
