"""The reliability suite: fault injection against the demo, with a table of trials.

``python -m tests.chaos`` (``make chaos``) runs every case in full and prints one row per trial:
the fault injected, what happened, and whether the warehouse kept its guarantees.
``tests/test_chaos.py`` runs the quick version of the same cases under pytest (``make test``).

- ``harness``: homes (built once, copied per trial), the ``warehouse`` command, killing a run at
  a chosen phase, and the checks: mart checksums, raw keys, reconciliation, the serving file.
- ``cases``: the cases (idempotency, crashes, API faults, schema drift, hostile logs, bad
  configuration, secrets), each a function returning its trials.
"""
