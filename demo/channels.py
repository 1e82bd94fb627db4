"""The ad channels' economics: what a click costs, how often an ad is clicked, and how well the
visitors a channel sends convert compared with the site's average.

One home for both sides of a campaign: the ad platform's delivery reports (``demo.api``: clicks
and impressions from spend) and the web logs' campaign sessions (``demo.clickstream_sessions``:
which campaign a session comes from). Keeping them together is what makes a campaign's return
on ad spend follow from its cost per click and its visitors' conversion, as it does for a real
shop (docs/demo-calibration.md states the ranges and their sources).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Channel:
    """One ad channel: its average cost per click (cents), click-through rate (clicks per
    impression) and relative conversion (its visitors' chance to buy over the site's average
    visitor's: search intent converts best, display least)."""

    cost_per_click_cents: float
    click_rate: float
    relative_conversion: float


CHANNELS: dict[str, Channel] = {
    "paid_search": Channel(cost_per_click_cents=300, click_rate=0.04, relative_conversion=1.3),
    "social": Channel(cost_per_click_cents=150, click_rate=0.012, relative_conversion=0.7),
    "display": Channel(cost_per_click_cents=90, click_rate=0.003, relative_conversion=0.35),
    "affiliate": Channel(cost_per_click_cents=120, click_rate=0.01, relative_conversion=0.8),
    # The email platform's cost per click: sending is cheap, so email returns far more per
    # dollar than paid media (it is owned media: no auction for the reader's attention).
    "email": Channel(cost_per_click_cents=30, click_rate=0.03, relative_conversion=1.2),
}
