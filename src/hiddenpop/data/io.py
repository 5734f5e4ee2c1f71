"""Reading record and history tables from CSV or Parquet files, with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from hiddenpop.exceptions import EmptyTableError, FileFormatError

__all__ = ["as_table", "read_table"]

_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_PARQUET_MAGIC = b"PAR1"


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV (comma or tab separated) or Parquet file into a DataFrame.

    Raises
    ------
    FileFormatError
        The file is missing, a directory, unreadable, binary where text is expected, or not
        a CSV/Parquet file.
    EmptyTableError
        The file holds no rows.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path}: no such file.")
    if path.is_dir():
        raise FileFormatError(f"{path}: is a directory, expected a CSV or Parquet file.")
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError as error:
        raise FileFormatError(f"{path}: cannot be read ({error.strerror}).") from None
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES or head.startswith(_PARQUET_MAGIC):
        return _read_parquet(path)
    if suffix not in _CSV_SUFFIXES and suffix != "":
        raise FileFormatError(
            f"{path}: unknown file type '{suffix}'; give a .csv, .tsv or .parquet file."
        )
    if b"\x00" in head:
        raise FileFormatError(f"{path}: is a binary file, not a CSV text table.")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # a multi-byte character cut at the block end is fine
            raise FileFormatError(
                f"{path}: is not UTF-8 text (bad byte at offset {error.start})."
            ) from None
    if not head.strip():
        raise EmptyTableError(f"{path}: the file is empty.")
    separator = "\t" if suffix == ".tsv" or head.split(b"\n", 1)[0].count(b"\t") > 0 else ","
    try:
        table = pd.read_csv(path, sep=separator, engine="pyarrow")
    except Exception:
        try:
            table = pd.read_csv(path, sep=separator)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
            message = " ".join(str(error).split())
            raise FileFormatError(f"{path}: not a readable CSV table ({message}).") from None
    table.attrs["origin"] = str(path)
    return table


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated classes
        message = " ".join(str(error).split())
        raise FileFormatError(f"{path}: not a readable Parquet file ({message}).") from None
    table.attrs["origin"] = str(path)
    return table


def as_table(data: pd.DataFrame | str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """A DataFrame and a description of where it came from, for error messages."""
    if isinstance(data, pd.DataFrame):
        origin = data.attrs.get("origin", "table")
        table = data
    elif isinstance(data, str | os.PathLike):
        table = read_table(data)
        origin = table.attrs["origin"]
    else:
        raise FileFormatError(
            f"expected a pandas DataFrame or a file path, got {type(data).__name__}."
        )
    if len(table) == 0:
        raise EmptyTableError(f"{origin}: the table has no rows.")
    return table, origin
