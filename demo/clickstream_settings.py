"""The simulated web logs' settings: retention, the app's field rename, rates of duplicates and
malformed lines, the devices, zones and garbage they draw from."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np

log = logging.getLogger(__name__)


# Web logs are kept for a month: the generated history has logs for its last 30 days only.
LOG_RETENTION_DAYS = 30
# The release that renamed the event field `user_id` to `account_id` (inside the generated log
# window, so both shapes are there from the start). A rolling deploy: the 09:00 file has both.
ACCOUNT_ID_RELEASE = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
# Calibrated to published e-commerce ranges (docs/demo-calibration.md). A real shop converts
# about 1-4% of its sessions: 30 browsing sessions around each buying one give about 3%.
BROWSING_SESSIONS_PER_ORDER = 30
# What a browsing session does: bounce (one page), browse (a few products), or fill a cart and
# leave it (some at checkout). Carts left in about 7% of them make two of every three carts
# abandoned, Baymard Institute's average; bounces keep the logs light (about 2 events a session).
BROWSING_KIND_SHARES = (0.5, 0.43, 0.07)
ABANDONED_AT_CHECKOUT_SHARE = 0.3
# Browsing sessions of customers who had signed up (on one of their devices, some logged in);
# the rest are new or unrecognised visitors.
KNOWN_VISITOR_SHARE = 0.1
# Of the sessions that start while campaigns run, the share that comes from one of them (paid
# and email traffic; the rest is organic, direct and referral).
AD_SESSION_SHARE = 0.2
DUPLICATE_RATE = 0.015
MALFORMED_RATE = 0.001
SITE = "https://www.globalretail.example"
# Fast compression: at scale 10 the demo writes a gigabyte of JSON a month.
GZIP_LEVEL = 1

EVENTS = np.array(
    ["page_view", "product_view", "add_to_cart", "checkout_started", "order_completed"]
)
PAGE_VIEW, PRODUCT_VIEW, ADD_TO_CART, CHECKOUT_STARTED, ORDER_COMPLETED = range(5)
PAGES = np.array(["/", "/deals", "/products/", "/cart", "/checkout", "/checkout/confirmation"])
HOME, DEALS, PRODUCT, CART, CHECKOUT, CONFIRMATION = range(6)
# Who writes the timestamp decides its format: epoch ms, local time with offset, UTC with Z.
EPOCH_MS, LOCAL_OFFSET, UTC_Z = range(3)
SERVER_SIDE_EVENTS = (CHECKOUT_STARTED, ORDER_COMPLETED)

# Devices: (type, os, browser, the app rather than the website), with their shares.
DEVICES = np.array(
    [
        ("desktop", "Windows", "Chrome", False),
        ("desktop", "Windows", "Edge", False),
        ("desktop", "macOS", "Safari", False),
        ("desktop", "macOS", "Chrome", False),
        ("desktop", "Linux", "Firefox", False),
        ("mobile", "iOS", "Safari", False),
        ("mobile", "Android", "Chrome", False),
        ("mobile", "iOS", "GlobalRetail App", True),
        ("mobile", "Android", "GlobalRetail App", True),
        ("tablet", "iPadOS", "Safari", False),
    ],
    dtype=object,
)
DEVICE_SHARES = np.array([0.22, 0.08, 0.12, 0.06, 0.02, 0.14, 0.12, 0.1, 0.08, 0.06])
# Visitors' time zones, as the website's local timestamps show them.
ZONES = np.array(
    [
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "America/Toronto",
        "Europe/London",
        "Europe/Berlin",
        "Europe/Paris",
        "Australia/Sydney",
    ]
)
ZONE_SHARES = np.array([0.3, 0.15, 0.15, 0.08, 0.1, 0.1, 0.07, 0.05])
GARBAGE = np.array(
    [
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        '{"event_id": null, "event": "page_view"}',
        "[object Object]",
        "undefined",
        '{"event": "page_view", "timestamp": "2026-10-20T10:00:00Z"}',
    ]
)

# The logs draw from a random stream of their own, so they never repeat the shop's numbers.
RANDOM_STREAM = 0xC11C
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
MS_US = 1_000
