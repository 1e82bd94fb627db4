"""The warehouse as Dagster assets: every dlt table, dbt node, the serving file and reverse ETL.

The code location is ``orchestration.definitions`` (``warehouse ui`` serves it). It calls the
same functions as the ``warehouse`` CLI (``warehouse.sources.load``, dbt on the same project and
profiles, ``warehouse.serving.publish``, ``warehouse.reverse_etl.reverse_etl``), so a step is
never implemented twice: Dagster adds scheduling, lineage, checks and run history around them.
"""
