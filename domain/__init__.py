"""Pure business rules of INSS payroll loans: documents, calendar, regulation, eligibility.

Nothing here does I/O, so workflow code can call it directly and unit tests cover it fully.
"""
