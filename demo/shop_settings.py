"""The simulated shop's settings (history window, sizes, rates, the vocabularies it draws from)
and its clock."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


SCHEMA_SQL = Path(__file__).with_name("shop_schema.sql")

# The history covers the year before this instant; ``advance`` moves on from here.
HISTORY_END = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_DAYS = 365
# The back office writes its legacy zone-less timestamps in head-office local time.
LOCAL_TIMEZONE = "America/New_York"

# Sizes at scale 1; everything grows linearly with the scale factor.
CUSTOMERS_PER_SCALE = 20_000
PRODUCTS_PER_SCALE = 1_000
ORDERS_PER_SCALE = 110_000
MIN_ROWS = 40

# Daily rates of change applied by ``advance`` to existing rows (probabilities per row per day).
CUSTOMER_PROFILE_UPDATE_RATE = 0.003
CUSTOMER_SOFT_DELETE_RATE = 0.0005
PRODUCT_PRICE_CHANGE_RATE = 0.01
PRODUCT_DISCONTINUE_RATE = 0.001
# Share of delivered orders sent back (some only in part: demo.api.data PARTIAL_RETURN_RATE):
# about 17.6% of online sales' value is returned (NRF and Appriss Retail, 2023).
RETURN_RATE = 0.2
# Cancelled orders are purged (hard-deleted, with their items) this long after cancellation.
CANCELLED_RETENTION = timedelta(days=30)

FIRST_NAMES = np.array(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Maria Wei Aisha Carlos Yuki Omar "
    "Sofia Liam Olivia Noah Emma Mateo Chloe Lucas Mia Hiro Priya Ahmed Fatima Lars Ingrid".split()
)
LAST_NAMES = np.array(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Nguyen Kim Patel Chen Muller Rossi Silva Kowalski Novak Schmidt Dubois Jansen Tanaka".split()
)
EMAIL_DOMAINS = np.array(["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me"])
CITIES = np.array(
    [
        ("New York", "US"),
        ("Los Angeles", "US"),
        ("Chicago", "US"),
        ("Houston", "US"),
        ("Seattle", "US"),
        ("Boston", "US"),
        ("Toronto", "CA"),
        ("Vancouver", "CA"),
        ("London", "GB"),
        ("Manchester", "GB"),
        ("Berlin", "DE"),
        ("Paris", "FR"),
        ("Amsterdam", "NL"),
        ("Madrid", "ES"),
        ("Sydney", "AU"),
    ]
)
STREETS = np.array(["Main St", "Oak Ave", "Maple Rd", "Park Lane", "High St", "Elm St", "Pine Ct"])
CATEGORIES = np.array(
    ["Electronics", "Home & Kitchen", "Apparel", "Books", "Sports", "Beauty", "Toys", " Garden"]
)
CATEGORY_MEDIAN_PRICE = np.array([120.0, 45.0, 35.0, 15.0, 40.0, 25.0, 22.0, 30.0])
PRODUCT_WORDS = np.array(
    "Classic Pro Ultra Eco Smart Mini Max Essential Deluxe Urban Nordic Vintage Compact".split()
)
CARRIERS = np.array(["UPS", "FedEx", "DHL", "USPS"])
CARRIER_WEIGHTS = np.array([0.35, 0.25, 0.15, 0.25])
CARRIER_TRANSIT_DAYS = np.array([2.5, 2.0, 4.0, 3.5])

US = np.timedelta64(1, "us")
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000


@dataclass(frozen=True)
class Clock:
    """The simulated world's state: its seed, scale and the current simulated instant."""

    seed: int
    scale: float
    now: datetime

    @property
    def day(self) -> int:
        """Days since the end of the generated history (0 right after ``generate``)."""
        return (self.now - HISTORY_END).days


@dataclass(frozen=True)
class Summary:
    """Row counts of the shop tables after a generator step."""

    clock: Clock
    counts: dict[str, int]
