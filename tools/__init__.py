"""Development tools: the link checker, the benchmarks and the engine comparison. Not installed
with the warehouse (``pyproject.toml`` packages only ``warehouse``, ``ingestion`` and ``demo``);
run them from the repository root with ``python -m tools.<name>``."""
