"""The simulated third parties: their records follow the shop's order plans, and the local API
server behaves like the real services (auth, pagination, page-size limit, 429, 5xx, slowness).

Everything runs against the real embedded PostgreSQL and a real HTTP server; nothing is mocked.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import requests

from demo import world
from demo.api.data import CAMPAIGN_SETUP, CAMPAIGNS, counts
from demo.api.server import DEMO_TOKEN, Behaviour, running

from .conftest import TEST_SCALE

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}


def rows(dsn: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        conn.execute("set timezone = 'UTC'")
        return conn.execute(sql, params).fetchall()


def scalar(dsn: str, sql: str, params: tuple = ()) -> object:
    return rows(dsn, sql, params)[0][0]


# --------------------------------------------------------------------------------------------
# The vendors' records


def test_campaigns_meet_the_clickstream_contract(generated_world_dsn: str) -> None:
    dsn = generated_world_dsn
    columns = {
        name: kind
        for name, kind in rows(
            dsn,
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'demo_api' and table_name = 'campaigns'",
        )
    }
    assert columns["campaign_id"] == "text"
    for name in ("campaign_name", "channel", "utm_source", "utm_medium", "utm_campaign"):
        assert columns[name] == "text"
    assert columns["started_at"] == columns["ended_at"] == "timestamp with time zone"
    assert columns["daily_budget_cents"] == "bigint"

    campaigns = rows(
        dsn, "select campaign_id, channel, started_at, ended_at, status from demo_api.campaigns"
    )
    assert 6 <= len(campaigns) <= 10
    assert {row[1] for row in campaigns} == {
        "paid_search",
        "social",
        "email",
        "display",
        "affiliate",
    }
    now = scalar(dsn, "select now from demo_meta.clock")
    # Exactly one campaign launched in the history's last 30 days: the analysts' "new campaign".
    recent = [row[0] for row in campaigns if now - timedelta(days=30) <= row[2] < now]
    assert recent == ["cmp_1009"]
    # The campaign set up after the history's end is not there yet.
    assert len(campaigns) == len([c for c in CAMPAIGNS if c.started_at - CAMPAIGN_SETUP < now])
    for _, _, started, ended, status in campaigns:
        expected = "ended" if ended and ended < now else "active" if started < now else "scheduled"
        assert status == expected


def test_charges_and_refunds_follow_the_orders(generated_world_dsn: str) -> None:
    dsn = generated_world_dsn
    per_order = rows(
        dsn,
        """
        select
            p.order_id,
            p.paid_at is not null,
            p.subtotal_cents + p.shipping_cents,
            count(c.*) filter (where c.status = 'succeeded'),
            count(c.*) filter (where c.status = 'failed'),
            coalesce(sum(c.amount_cents) filter (where c.status = 'succeeded'), 0),
            min(c.created_at) filter (where c.status = 'succeeded')
                = date_trunc('second', p.paid_at)
        from demo_meta.order_plans as p
        left join demo_api.charges as c on c.order_id = p.order_id
        group by 1, 2, 3
        """,
    )
    paid = [row for row in per_order if row[1]]
    unpaid = [row for row in per_order if not row[1]]
    assert paid and unpaid
    # Every paid order is charged its total at the moment it was paid; a few twice.
    assert all(row[3] >= 1 and row[5] == row[3] * row[2] and row[6] for row in paid)
    doubles = sum(1 for row in paid if row[3] == 2)
    assert 0 < doubles < 0.03 * len(paid)
    assert max(row[3] for row in paid) == 2
    # Never-paid orders have no money taken, but about half of them a declined card.
    assert all(row[3] == 0 for row in unpaid)
    assert 0.2 < sum(1 for row in unpaid if row[4]) / len(unpaid) < 0.8

    refunds = rows(
        dsn,
        """
        select r.reason, r.amount_cents, c.amount_cents, r.created_at >= c.created_at,
            c.status, p.cancelled_at is not null, p.returned_at is not null
        from demo_api.refunds as r
        inner join demo_api.charges as c on c.charge_id = r.charge_id
        inner join demo_meta.order_plans as p on p.order_id = r.order_id
        """,
    )
    assert {row[0] for row in refunds} == {"requested_by_customer", "duplicate"}
    assert all(0 < row[1] <= row[2] and row[3] and row[4] == "succeeded" for row in refunds)
    returned = [row for row in refunds if row[6]]
    assert any(row[1] < row[2] for row in returned), "some returns are refunded only in part"
    cancelled_paid = scalar(
        dsn,
        "select count(*) from demo_meta.order_plans where paid_at is not null"
        " and cancelled_at < (select now from demo_meta.clock)",
    )
    assert sum(1 for row in refunds if row[5] and row[0] != "duplicate") == cancelled_paid


def test_reviews_follow_deliveries(generated_world_dsn: str) -> None:
    dsn = generated_world_dsn
    reviews = rows(
        dsn,
        """
        select
            r.rating, r.title, r.body, r.created_at - p.delivered_at,
            r.updated_at > r.created_at,
            exists (
                select from shop.order_items as i
                where i.order_id = r.order_id and i.product_id = r.product_id
            )
        from demo_api.reviews as r
        inner join demo_meta.order_plans as p on p.order_id = r.order_id
        """,
    )
    delivered = scalar(
        dsn,
        "select count(*) from demo_meta.order_plans"
        " where delivered_at < (select now from demo_meta.clock)",
    )
    assert 0.04 * delivered < len(reviews) < 0.1 * delivered
    assert {row[0] for row in reviews} == {1, 2, 3, 4, 5}
    lag = (timedelta(days=2, seconds=-1), timedelta(days=10))
    assert all(lag[0] <= row[3] <= lag[1] and row[5] for row in reviews)
    bodies = [row[2] for row in reviews if row[2] is not None]
    assert any(body != body.strip() for body in bodies), "free text keeps its stray whitespace"
    assert any(row[2] is None for row in reviews) and any(row[4] for row in reviews)


def test_ad_spend_is_reported_then_restated(generated_world_dsn: str) -> None:
    dsn = generated_world_dsn
    now = scalar(dsn, "select now from demo_meta.clock")
    days = rows(
        dsn,
        """
        select s.spend_date, s.is_final, s.updated_at, s.clicks <= s.impressions,
            s.spend_cents <= c.daily_budget_cents
        from demo_api.ad_spend as s
        inner join demo_api.campaigns as c using (campaign_id)
        where s.campaign_id = 'cmp_1001'
        order by 1
        """,
    )
    # An always-on campaign: every day reported (the morning after), final once restated.
    first_day = min(c.started_at for c in CAMPAIGNS).date()
    assert len(days) == (now.date() - timedelta(days=2) - first_day).days + 1
    for spend_date, is_final, updated_at, sane_clicks, within_budget in days:
        assert sane_clicks and within_budget
        assert is_final == (now.date() - spend_date > timedelta(days=3))
        assert updated_at.date() - spend_date == timedelta(days=3 if is_final else 1)


def test_generation_is_deterministic(generated_world_dsn: str, shop_dsn: str, tmp_path: Path):
    world.generate(shop_dsn, tmp_path, scale=TEST_SCALE, seed=42)
    fingerprint = """
        select md5(string_agg(t::text, '|' order by t::text))
        from demo_api.{table} as t
    """
    for table in ("charges", "refunds", "campaigns", "ad_spend", "reviews"):
        sql = fingerprint.format(table=table)
        assert scalar(shop_dsn, sql) == scalar(generated_world_dsn, sql), table


def test_advance_adds_that_days_records_and_changes_only_what_changed(
    shop_dsn: str, tmp_path: Path
) -> None:
    world.generate(shop_dsn, tmp_path, scale=TEST_SCALE, seed=42)
    before_now = scalar(shop_dsn, "select now from demo_meta.clock")
    before = snapshot(shop_dsn, before_now)
    world.advance(shop_dsn, tmp_path, days=2)
    after = snapshot(shop_dsn, before_now)

    # Charges and refunds are never changed, only added, and only in the new days.
    for table in ("charges", "refunds"):
        assert after[table][1] == before[table][1], f"{table} created before were changed"
    assert (
        scalar(
            shop_dsn, "select count(*) from demo_api.charges where created_at >= %s", (before_now,)
        )
        == after["charges"][0] - before["charges"][0]
        > 0
    )
    # Each order paid in the new days has its charge.
    assert (
        scalar(
            shop_dsn,
            """
            select count(*) from demo_meta.order_plans as p
            where p.paid_at >= %s and p.paid_at < (select now from demo_meta.clock)
                and not exists (
                    select from demo_api.charges as c
                    where c.order_id = p.order_id and c.status = 'succeeded'
                )
            """,
            (before_now,),
        )
        == 0
    )
    # Spend: two new days reported per running campaign, and two older days restated.
    assert after["ad_spend"][0] - before["ad_spend"][0] == 2 * scalar(
        shop_dsn, "select count(*) from demo_api.campaigns where status = 'active'"
    )
    restated = scalar(
        shop_dsn,
        "select count(*) from demo_api.ad_spend where is_final and updated_at >= %s",
        (before_now,),
    )
    assert restated > 0
    assert after["reviews"][0] > before["reviews"][0]


def snapshot(dsn: str, before: datetime) -> dict[str, tuple[int, str | None]]:
    """Per table: its row count and, for charges and refunds, a fingerprint of the rows
    created before ``before``."""
    with psycopg.connect(dsn) as conn:
        result: dict[str, tuple[int, str | None]] = {}
        for table, total in counts(conn).items():
            if table not in ("charges", "refunds"):
                result[table] = (total, None)
                continue
            (fingerprint,) = conn.execute(
                f"""
                select md5(string_agg(t::text, '|' order by t::text))
                from demo_api.{table} as t where created_at < %s
                """,
                (before,),
            ).fetchone()
            result[table] = (total, fingerprint)
    return result


# --------------------------------------------------------------------------------------------
# The server


def test_bearer_token_is_required(generated_world_dsn: str) -> None:
    with running(generated_world_dsn) as server:
        url = f"{server.url}/v1/charges"
        assert requests.get(url, timeout=10).status_code == 401
        wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401
        assert wrong.json()["error"]["message"] == "Invalid API key provided."
        assert requests.get(url, headers=AUTH, timeout=10).status_code == 200
        assert [request.status for request in server.requests] == [401, 401, 200]


def test_pages_above_the_maximum_are_refused(generated_world_dsn: str) -> None:
    with running(generated_world_dsn, Behaviour(max_page_size=50)) as server:
        for path, parameter in (
            ("charges", "limit"),
            ("ad_spend", "limit"),
            ("reviews", "per_page"),
        ):
            url = f"{server.url}/v1/{path}"
            too_big = requests.get(url, params={parameter: 51}, headers=AUTH, timeout=10)
            assert too_big.status_code == 400
            assert "between 1 and 50" in too_big.json()["error"]["message"]
            assert requests.get(url, params={parameter: 50}, headers=AUTH, timeout=10).ok


def test_stripe_cursor_pages_return_each_object_once_newest_first(
    generated_world_dsn: str,
) -> None:
    dsn = generated_world_dsn
    since, until = rows(
        dsn,
        "select extract(epoch from percentile_disc(0.5) within group (order by created_at))"
        "::bigint, extract(epoch from max(created_at))::bigint from demo_api.charges",
    )[0]
    with running(dsn) as server:
        seen: list[dict] = []
        params = {"limit": 100, "created[gte]": since, "created[lt]": until}
        while True:
            page = requests.get(f"{server.url}/v1/charges", params, headers=AUTH, timeout=10)
            body = page.json()
            seen += body["data"]
            if not body["has_more"]:
                break
            params["starting_after"] = body["data"][-1]["id"]
        unknown = requests.get(
            f"{server.url}/v1/charges", {"starting_after": "ch_nope"}, headers=AUTH, timeout=10
        )
    expected = scalar(
        dsn,
        "select count(*) from demo_api.charges"
        " where created_at >= to_timestamp(%s) and created_at < to_timestamp(%s)",
        (since, until),
    )
    assert len(seen) == len({charge["id"] for charge in seen}) == expected
    created = [charge["created"] for charge in seen]
    assert created == sorted(created, reverse=True)
    assert since <= min(created) and max(created) < until
    assert {"id", "amount", "currency", "created", "status", "metadata"} <= set(seen[0])
    assert unknown.status_code == 400


def test_ad_platform_pages_follow_next_links(generated_world_dsn: str) -> None:
    dsn = generated_world_dsn
    with running(dsn) as server:
        seen: list[dict] = []
        url: str | None = f"{server.url}/v1/ad_spend?limit=300&updated_since=2026-06-01T00:00:00Z"
        while url:
            body = requests.get(url, headers=AUTH, timeout=10).json()
            seen += body["data"]
            url = body["paging"].get("next")
    expected = scalar(
        dsn, "select count(*) from demo_api.ad_spend where updated_at >= '2026-06-01T00:00:00Z'"
    )
    assert len(seen) == len({(row["campaign_id"], row["date"]) for row in seen}) == expected
    assert [row["updated_at"] for row in seen] == sorted(row["updated_at"] for row in seen)


def test_review_pages_are_numbered(generated_world_dsn: str) -> None:
    dsn = generated_world_dsn
    with running(dsn) as server:
        url = f"{server.url}/v1/reviews"
        first = requests.get(url, {"per_page": 40}, headers=AUTH, timeout=10).json()
        pages = first["meta"]["total_pages"]
        seen = list(first["reviews"])
        for page in range(2, pages + 1):
            params = {"per_page": 40, "page": page}
            seen += requests.get(url, params, headers=AUTH, timeout=10).json()["reviews"]
        logged = server.requests_to("/v1/reviews")
    total = scalar(dsn, "select count(*) from demo_api.reviews")
    assert first["meta"]["total"] == total and pages == -(-total // 40) > 1
    assert len({review["id"] for review in seen}) == len(seen) == total
    assert [request.query.get("page", "1") for request in logged] == [
        str(page) for page in range(1, pages + 1)
    ]
    assert sum(request.rows for request in logged) == total


def test_rate_limit_answers_429_with_retry_after(generated_world_dsn: str) -> None:
    with running(generated_world_dsn, Behaviour(rate_limit=3)) as server:
        url = f"{server.url}/v1/campaigns"
        answers = [requests.get(url, headers=AUTH, timeout=10) for _ in range(6)]
        throttled = [answer for answer in answers if answer.status_code == 429]
        assert [answer.status_code for answer in answers[:3]] == [200, 200, 200]
        assert throttled, "a burst above the limit must be throttled"
        wait = int(throttled[0].headers["Retry-After"])
        assert wait >= 1
        time.sleep(wait)
        assert requests.get(url, headers=AUTH, timeout=10).status_code == 200


def test_injected_faults_and_slow_answers(generated_world_dsn: str) -> None:
    behaviour = Behaviour(fault_rate=0.5, slow_rate=0.5, slow_seconds=0.1, seed=3)
    with running(generated_world_dsn, behaviour) as server:
        url = f"{server.url}/v1/refunds"
        durations, statuses = [], []
        for _ in range(12):
            started = time.perf_counter()
            statuses.append(requests.get(url, headers=AUTH, timeout=10).status_code)
            durations.append(time.perf_counter() - started)
    assert set(statuses) - {200} <= {500, 502, 503}
    assert 200 in statuses and set(statuses) & {500, 502, 503}
    assert any(d >= 0.1 for d in durations) and any(d < 0.1 for d in durations)


def test_server_refuses_to_start_without_demo_data(shop_dsn: str) -> None:
    expected = r"\[sources\.payments\] base_url.*demo generate"
    with pytest.raises(RuntimeError, match=expected), running(shop_dsn, source="payments"):
        pass
