"""How other services and operators use the system: a typed Python API and the ``python -m starter`` CLI."""
