"""Units: parsing the user's durations, sizes and rates, and the values they are compared with.

Canonical units everywhere inside loadlab: milliseconds for latency, seconds for durations, bytes
for sizes, percent (0..100) for CPU and ratios shown as percentages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    """A value measured for a threshold, in a canonical unit; `value` None means no data."""

    value: float | None
    unit: str
    detail: str | None = None
    inconclusive: bool = False  # too few samples, not missing ones: a longer run would tell


_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
_DURATION_PART = re.compile(rf"({_NUMBER})(ms|s|m|h|d)")
_DURATION_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(rf"^({_NUMBER})\s*([KMGT]i?B|B)$", re.IGNORECASE)
_SIZE_FACTORS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_RATE = re.compile(rf"^({_NUMBER})\s*/\s*(s|m|h)$")


def parse_duration(text: str) -> float:
    """Seconds in "90", "30s", "2m", "1h30m", "1.5s" or "250ms"; ValueError names the text."""
    cleaned = text.strip().lower()
    if not cleaned:
        raise ValueError("empty duration; use e.g. 30s, 2m or 1h30m")
    if re.fullmatch(_NUMBER, cleaned):
        return float(cleaned)
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(cleaned):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_UNITS_S[match.group(2)]
        position = match.end()
    if position != len(cleaned) or position == 0:
        raise ValueError(f"bad duration {text!r}; use e.g. 30s, 2m or 1h30m")
    return total


def parse_latency_ms(text: str) -> float:
    """Milliseconds in "500ms", "1s" or "1.5s"; a bare number is refused (its unit is unclear)."""
    cleaned = text.strip().lower()
    if re.fullmatch(_NUMBER, cleaned):
        raise ValueError(f"latency {text!r} needs a unit; write e.g. {cleaned}ms")
    try:
        return parse_duration(cleaned) * 1000.0
    except ValueError:
        raise ValueError(f"bad latency {text!r}; use e.g. 500ms or 1s") from None


def parse_size(text: str) -> float:
    """Bytes in "100MB" (10^6) or "100MiB" (2^20); ValueError names the text."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise ValueError(f"bad size {text!r}; use e.g. 100MB or 64MiB")
    return float(match.group(1)) * _SIZE_FACTORS[match.group(2).lower()]


def parse_rate_per_s(text: str) -> float:
    """Events per second in "100/s", "6000/m" or "360000/h"."""
    match = _RATE.match(text.strip().lower())
    if match is None:
        raise ValueError(f"bad rate {text!r}; use e.g. 100/s or 6000/m")
    return float(match.group(1)) / _DURATION_UNITS_S[match.group(2)]


def parse_percent(text: str) -> float:
    """Percent (0..100) in "80%" or "0.1%"; the % sign is required."""
    cleaned = text.strip()
    if not cleaned.endswith("%") or not re.fullmatch(_NUMBER, cleaned[:-1].strip()):
        raise ValueError(f"bad percentage {text!r}; use e.g. 80% or 0.1%")
    return float(cleaned[:-1])


def parse_growth_bytes_per_10m(text: str) -> float:
    """Bytes per 10 minutes in "100MB/10m" or "50MiB/1h"; the period is required."""
    size_text, slash, period_text = text.strip().partition("/")
    if not slash:
        raise ValueError(f"bad growth {text!r}; use a size per period, e.g. 100MB/10m")
    period_s = parse_duration(period_text)
    if period_s <= 0:
        raise ValueError(f"bad growth {text!r}: the period must be positive")
    return parse_size(size_text) * 600.0 / period_s


def format_duration(seconds: float) -> str:
    """The short human form ("1h30m", "2m", "45s", "1.5s") that `parse_duration` reads back."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"
