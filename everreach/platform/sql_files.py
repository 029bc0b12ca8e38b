"""SQL statements kept as `.sql` files in each domain package's `sql/` folder.

A domain module asks for its own statements with ``query = sql_folder(__package__)`` and then
``query("store_events")``: the SQL stays beside the code that runs it, and every file is read once
per process.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources


@cache
def _read(package: str, name: str) -> str:
    return resources.files(package).joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def sql_folder(package: str | None) -> Callable[[str], str]:
    """A reader of `<package>/sql/<name>.sql` for the domain package `package`."""
    if not package:
        raise ValueError("sql_folder() needs the calling module's __package__")
    return lambda name: _read(package, name)
