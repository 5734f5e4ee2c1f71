"""Capture data: validated per-period sufficient statistics (METHODS.md §2)."""

from hiddenpop.data.capture import CaptureData
from hiddenpop.data.describe import describe
from hiddenpop.data.io import read_table
from hiddenpop.data.records import histories_from_records

__all__ = ["CaptureData", "describe", "histories_from_records", "read_table"]
