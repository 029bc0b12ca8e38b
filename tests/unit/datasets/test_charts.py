"""The label-metrics chart draws each alert's threshold on its label's panel."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
from matplotlib.image import imread

from everreach.datasets import ALERTS, LabelValue, label_chart_png

THRESHOLD_RED = np.array([0xC0, 0x30, 0x30]) / 255


def red_pixels(png: bytes) -> int:
    pixels = imread(io.BytesIO(png))[..., :3]
    return int((np.abs(pixels - THRESHOLD_RED).max(axis=-1) < 0.08).sum())


def test_alert_thresholds_are_drawn_as_red_lines() -> None:
    history = [
        LabelValue(date(2026, 5, 1) + timedelta(days=n), label, "ratio", "", "", v, 1, 4)
        for n in range(5)
        for label, v in (("ctr_paywall", 0.1 * n), ("copy_rate", 0.5))
    ]
    plain = label_chart_png(history, "no thresholds")
    with_alerts = label_chart_png(history, "thresholds", ALERTS)
    assert red_pixels(plain) == 0
    assert red_pixels(with_alerts) > 100  # the 25 % line across the ctr_paywall panel
