"""The dbt docs site as a user opens it: `warehouse docs --serve`, then a real browser
(Debian's chromium, headless) on the lineage page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import cli_server, free_port
from warehouse.dbt import mart_relations
from warehouse.paths import Paths

pytestmark = pytest.mark.slow

# The model nodes the lineage graph shows, read from the docs app's own graph service.
DISPLAYED_MODELS_JS = """
() => {
    const graph = angular.element(document.body).injector().get('graph').graph;
    return graph.elements
        .filter((e) => e.data && e.data.resource_type === 'model' && e.data.display !== 'none')
        .map((e) => e.data.label);
}
"""


@pytest.fixture(scope="module")
def docs_url(built_demo_home: Path) -> Iterator[str]:
    """The docs site of the demo build, served by `warehouse docs --serve`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    args = ["--home", str(built_demo_home), "docs", "--serve", "--port", str(port)]
    with cli_server(args, url + "catalog.json", timeout=300):
        yield url


def test_lineage_page_renders_every_mart(
    docs_url: str, browser, built_demo_home: Path, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(docs_url + "#!/overview?g_v=1", wait_until="networkidle")
    # The full-page lineage graph is drawn by cytoscape into canvases once the manifest
    # and catalog have loaded.
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas')].some(c => c.width > 0 && c.height > 0)",
        timeout=60_000,
    )
    page.screenshot(path=str(tmp_path / "lineage.png"))
    displayed = set(page.evaluate(DISPLAYED_MODELS_JS))
    marts = {table for _, table in mart_relations(Paths(built_demo_home))}
    assert len(marts) >= 14
    assert marts <= displayed, f"marts missing from the lineage graph: {marts - displayed}"
    assert {"stg_shop__orders", "int_orders_enriched"} <= displayed  # and the layers upstream
    assert not errors, errors


def test_model_page_shows_description_columns_and_tests(docs_url: str, browser) -> None:
    page = browser.new_page()
    page.goto(docs_url + "#!/model/model.globalretail.fct_orders", wait_until="networkidle")
    page.wait_for_selector("text=One row per order", timeout=60_000)
    body = page.inner_text("body")
    for expected in ("order_total", "customer_id", "Tests", "Depends On", "Referenced By"):
        assert expected in body, expected
