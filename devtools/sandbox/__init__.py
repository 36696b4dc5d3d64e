"""The sandbox provider: a separate HTTP server behaving as the manuals describe.

A test double of the outside world for the run command and the integration tests — never part of
production. Outcomes follow the manuals' sandbox sections (by the CPF's first digit); fault
switches, per request or per CPF, add what real providers do on bad days.
"""
