"""Signing in as each role in a real browser: each sees its own navigation,
on a laptop and on a warehouse tablet, and can switch the dashboard's language."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oms.dashboard import NAV
from oms.roles import ACCOUNTING, CAPABILITIES, CUSTOMER_SERVICE, MANAGER, WAREHOUSE
from tests.factories import WarehouseFactory, staff_user

pytestmark = pytest.mark.django_db(transaction=True)

TABLET = {"width": 800, "height": 1280}


@pytest.mark.parametrize("role", [CUSTOMER_SERVICE, WAREHOUSE, ACCOUNTING, MANAGER])
def test_each_role_signs_in_and_sees_its_own_navigation(page_for, shots, role):
    locations = [WarehouseFactory(code="DC-1")] if role == WAREHOUSE else []
    user = staff_user(f"{role}-user", role, locations=locations)
    page = page_for(user, viewport=TABLET if role == WAREHOUSE else None)
    shown = page.locator("nav.sidebar a").all_inner_texts()
    expected = [str(item.label) for item in NAV if item.capability in CAPABILITIES[role]]
    assert shown == expected
    shots.take(page, f"{role}-home")
    for item in NAV:
        if item.capability not in CAPABILITIES[role]:
            response = page.goto(reverse(item.url_name))
            assert response.status == 403
            assert page.locator("h1").inner_text() == "Not allowed"
            shots.take(page, f"{role}-refused")
            break


def test_the_language_switch_translates_the_dashboard(page_for, shots):
    page = page_for(staff_user("eleni", MANAGER))
    with page.expect_navigation():
        page.select_option("#lang-select", "el")
    assert page.locator("html").get_attribute("lang") == "el"
    assert "Παραγγελίες" in page.locator("nav.sidebar").inner_text()
    shots.take(page, "greek")
    with page.expect_navigation():
        page.select_option("#lang-select", "zh-hant")
    assert page.locator("html").get_attribute("lang") == "zh-hant"
    assert "訂單" in page.locator("nav.sidebar").inner_text()
    shots.take(page, "traditional-chinese")


def test_signing_out_ends_the_session(page_for):
    page = page_for(staff_user("cass", CUSTOMER_SERVICE))
    page.click("text=Sign out")
    page.wait_for_url("**/dashboard/login/")
    response = page.goto("/dashboard/orders/")
    assert "/dashboard/login/" in page.url and response.status == 200
