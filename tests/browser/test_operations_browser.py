"""The operators' page in a real browser at a common laptop width: every figure of every
organisation in view without scrolling sideways, reached from the console's home page."""

import pytest

from tests.browser.conftest import snap
from tests.browser.test_console_lists_browser import HEIGHT, WIDTH, signed_in_page
from tests.factories import SessionFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_operations_page_fits_1280_pixels_and_is_linked_from_home(browser, live_server):
    for n, name in enumerate(
        [
            "Featherstonehaugh-Worthington Recruiting International GmbH & Co. KG",
            "Anna-Katharina Talent Partners",
            "Globex",
        ]
    ):
        tenant = TenantFactory(name=name, slug=f"tenant-{n}")
        SessionFactory(tenant=tenant, status="completed")
    operator = UserFactory(is_staff=True, is_superuser=True)
    context, page = signed_in_page(browser, live_server, operator)
    try:
        page.goto(f"{live_server.url}/admin/")
        page.click("#operations-module caption a")
        page.wait_for_url("**/admin/operations/")
        assert page.locator("#operations tbody tr").count() == 3
        snap(page, "console-operations-1280")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow == 0, overflow
        for header in page.locator("#operations thead th").all():
            box = header.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
        assert page.viewport_size == {"width": WIDTH, "height": HEIGHT}
    finally:
        context.close()
