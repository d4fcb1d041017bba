"""Indicator logic as a pure library: types, refanging, canonical forms (no I/O, no storage)."""

from iocfeed.indicators.canonical import Canonical, canonicalize, canonicalize_any, detect_type
from iocfeed.indicators.refang import refang
from iocfeed.indicators.types import IndicatorType

__all__ = ["Canonical", "IndicatorType", "canonicalize", "canonicalize_any", "detect_type", "refang"]
