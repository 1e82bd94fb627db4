"""The API sources' typed Arrow path (ingestion/rest_arrow.py) through a real dlt pipeline into
DuckDB: declared pages load with the declared types, text that reads like a date stays text, a
field the declaration does not name still becomes a column, and a value of another type still
stops the load on the frozen data-type contract, naming table and column."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.rest import SCHEMA_CONTRACT
from ingestion.rest_arrow import ArrowPages, PageBatches, page_to_arrow
from ingestion.reviews.settings import RECORD_TYPES

DECLARED = RECORD_TYPES["reviews"]


def review(number: int, **fields: Any) -> dict[str, Any]:
    record = {
        "id": f"rv_{number}",
        "order_id": 1000 + number,
        "product_id": 7,
        "rating": 5,
        "title": "Great",
        "body": None,
        "created_at": "2026-11-20T10:00:00Z",
        "updated_at": "2026-11-21T10:00:00Z",
    }
    return record | fields


def load(tmp_path: Path, *pages: list[dict[str, Any]]) -> dlt.Pipeline:
    """The pages through the reviews resource's steps, as the API source builds them."""

    @dlt.resource(
        name="reviews",
        primary_key="id",
        write_disposition="merge",
        file_format="parquet",
        schema_contract=SCHEMA_CONTRACT,
    )
    def reviews() -> Iterator[list[dict[str, Any]]]:
        yield from pages

    resource = reviews()
    resource.add_step(PageBatches())
    resource.add_step(ArrowPages("reviews", DECLARED, ["id"]))
    pipeline = dlt.pipeline(
        pipeline_name="arrow_test",
        destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
        dataset_name="raw_reviews",
        pipelines_dir=str(tmp_path / "dlt"),
    )
    pipeline.run(resource).raise_on_failed_jobs()
    return pipeline


def columns(tmp_path: Path) -> dict[str, str]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as db:
        rows = db.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'raw_reviews' and table_name = 'reviews'"
        ).fetchall()
    return dict(rows)


def test_a_declared_page_is_one_typed_table_with_dlt_ids() -> None:
    table, misfit = page_to_arrow([review(1), review(2, title=None)], DECLARED, ["id"])
    assert misfit == "" and table is not None
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("rating").type) == "int64"
    assert not table.schema.field("id").nullable
    assert len(set(table["_dlt_id"].to_pylist())) == 2
    # What does not fit is named, and the page goes to dlt as records.
    for record, why in [
        (review(3, verified=True), "undeclared field(s) verified"),
        (review(4, rating=4.5), "rating is double, declared bigint"),
        (review(5, updated_at="yesterday"), "updated_at does not read as timestamp"),
    ]:
        table, misfit = page_to_arrow([review(9), record], DECLARED, ["id"])
        assert table is None and misfit.startswith(why), misfit


def test_text_that_reads_like_a_date_stays_text_and_new_fields_are_kept(tmp_path: Path) -> None:
    # The first load's titles all read like dates: dlt alone would type the column timestamp.
    load(tmp_path, [review(n, title="2026-11-20") for n in range(3)])
    assert columns(tmp_path)["title"] == "VARCHAR"
    assert columns(tmp_path)["created_at"] == "TIMESTAMP WITH TIME ZONE"

    # A vendor adds a field: that page goes through dlt's normalizer, the field becomes a column.
    load(tmp_path, [review(3, title="Fine")], [review(4, verified=True)])
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as db:
        rows = db.execute(
            "select id, title, verified from raw_reviews.reviews order by id"
        ).fetchall()
    assert rows == [
        ("rv_0", "2026-11-20", None),
        ("rv_1", "2026-11-20", None),
        ("rv_2", "2026-11-20", None),
        ("rv_3", "Fine", None),
        ("rv_4", "Great", True),
    ]


def test_a_changed_type_still_stops_the_load_naming_table_and_column(tmp_path: Path) -> None:
    load(tmp_path, [review(1)])
    with pytest.raises(PipelineStepFailed) as failure:
        load(tmp_path, [review(2, rating="five stars")])
    message = str(failure.value)
    assert "variant column `rating__v_text` for table `reviews`" in message
    assert "frozen" in message
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as db:
        assert db.execute("select count(*) from raw_reviews.reviews").fetchone() == (1,)
