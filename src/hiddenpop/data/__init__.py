"""Capture data: validated per-period sufficient statistics (METHODS.md §2)."""

from hiddenpop.data.capture import CaptureData
from hiddenpop.data.io import read_table

__all__ = ["CaptureData", "read_table"]
