"""`/schema` renders without internet: the docs UI's script, style and icon are served by the
app itself (from the swagger-ui-py package), and a headless browser with every non-local
address blocked draws the operations."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import pytest

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_docs_page_loads_nothing_from_another_site(api: httpx.Client) -> None:
    page = api.get("/schema")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert not EXTERNAL.search(page.text), page.text
    assets = ASSET.findall(page.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        served = api.get(asset)
        assert served.status_code == 200 and len(served.content) > 500, asset


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_a_browser_without_network_renders_the_operations(api: httpx.Client) -> None:
    """Every address but 127.0.0.1 goes to a proxy that does not exist (port 9): a CDN script
    would not load and the page would stay blank."""
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1",
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"{api.base_url}/schema",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert 'class="swagger-ui' in dom
    assert "/v1/ingest" in dom  # the operations are drawn, not just the empty shell
