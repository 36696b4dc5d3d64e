"""The second provider's API (seed 003, "Criação de Operação") as we speak it: its wire only.

Strict outbound models (``POST /inss/v1/operation``: ``client`` + ``operation``), tolerant inbound
ones (the creation answer, the product table, an operation's status), its 400 body parsed into a
typed error naming the field, the status vocabulary in the loan's words, the HTTP client with its
login, and the pure mapping from a ``domain.loan.LoanRequest``. Nothing here knows Temporal or the
loan's workflow; where the seed is silent, each module's docstring lists what it assumes.
"""
