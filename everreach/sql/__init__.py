"""The application's SQL statements, kept as `.sql` files beside this module."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def query(name: str) -> str:
    """The text of `everreach/sql/<name>.sql` (read once per process)."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
