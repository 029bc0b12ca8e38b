"""The API leaves its start-up objects out of garbage collection (the single-event tail)."""

from __future__ import annotations

import gc

from api.app import create_app
from api.server import serve_in_thread
from tests.conftest import make_settings


def test_start_up_objects_are_frozen_out_of_full_collections(database_url, tmp_path) -> None:
    """Full collections used to scan ~210 000 start-up objects, a 50-120 ms stall of every
    request in flight; frozen, they are skipped."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = create_app(make_settings(tmp_path, database_url), database_url)
    with serve_in_thread(app):
        assert gc.get_freeze_count() > 100_000
