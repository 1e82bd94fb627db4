"""``make bench``: how fast the warehouse refreshes and how much memory it takes, each figure
beside a baseline measured in the same run, on the same data and the same machine.

    python -m tools.bench --scale 10 --runs 3 [--home DIR] [--only shop,dbt ...]

Every step runs in a subprocess of its own, so its peak RSS (``wait4``) is its own and one
step's caches never help the next. Steps that are repeated alternate with their baseline, and
the table reports medians. The baselines are what the engines do with no pipeline around them:

- shop: PostgreSQL ``COPY ... TO STDOUT`` (CSV) -> pyarrow's streaming CSV reader -> a DuckDB
  table, for the same tables (orders, order_items) the dlt pipeline loads.
- clickstream: DuckDB's ``read_json`` of the same gzip files into a table, with the same text
  columns the pipeline writes.
- API: a plain ``requests`` loop that pages through the same endpoints of the same demo server,
  with the same page sizes, and parses every page.
- dbt build: the SQL dbt compiled for every node of that build, executed straight in DuckDB in
  the order dbt completed them (models as ``create or replace``, tests as ``count(*)``).
- incremental: a full ``warehouse run`` (ingest everything, build, publish) on an empty
  warehouse, against ``warehouse demo advance`` (one day) then ``warehouse run``.
- cdc: the shop's CDC load of one day against a full CDC snapshot; and a load generator playing
  the shop app, its transactions' p50/p99 idle vs during the snapshot vs during CDC
  (``oltp``).

The package, by concern: ``measure`` (one measured subprocess), ``steps`` (what each step runs),
``workers`` (the measured tasks and their baselines), ``table`` (the report), ``__main__``
(the command), ``oltp`` (the shop CDC step and its load generator).
"""
