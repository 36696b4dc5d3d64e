"""The whole system on one machine, for ``dev.py run``, the tests and the benchmark: processes,
ports, generated secrets, and the sample loans. A development tool: not shipped in the images."""
