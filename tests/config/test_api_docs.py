"""The API's documentation page is served from the project: no third-party script or style."""

import re

from django.contrib.staticfiles import finders


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert not re.search(r"(?i)https?://|jsdelivr|unpkg|@latest", page)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    # Its start-up script comes from the page's own view (the split view: no inline script).
    assert "/api/docs/?script=" in assets
    for asset in [a for a in assets if a != "/api/docs/?script="]:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file"
