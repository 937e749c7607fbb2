"""THE BROWSER TEST: report.html in a real headless Chromium, driven by Selenium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``./rampart setup`` installs them); it fails,
never skips, when they are missing. Filters, views and the cell detail are exercised on the
fixture fleet's report, and a screenshot is kept in ``reports/screenshots/``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

ROOT = Path(__file__).parents[5]
SCREENSHOTS = ROOT / "reports" / "screenshots"
CHROMIUM = "chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromium = shutil.which(CHROMIUM)
    assert chromium, (
        "chromium is not installed: apt-get install chromium chromium-driver (./rampart setup does)"
    )
    assert Path(CHROMEDRIVER).is_file(), f"{CHROMEDRIVER} is missing: apt-get install chromium-driver"
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(browser: WebDriver, written: Mapping[str, Path]) -> WebDriver:
    browser.get(written["html"].as_uri())
    return browser


@pytest.fixture(autouse=True)
def fresh_filters(page: WebDriver) -> None:
    close_detail(page)
    page.find_element(By.ID, "filter-reset").click()
    tab(page, "matrix")


def tab(page: WebDriver, name: str) -> None:
    page.find_element(By.ID, f"tab-{name}").click()


def status_chip(page: WebDriver, status: str) -> WebElement:
    return page.find_element(By.CSS_SELECTOR, f'[data-status-pick="{status}"]')


def host_id(page: WebDriver, name: str) -> str:
    hosts: dict[str, str] = json.loads(
        page.find_element(By.ID, "report-data").get_attribute("textContent") or ""
    )["hosts"]
    return next(hid for hid, host in hosts.items() if host == name)


def row(page: WebDriver, host: str) -> WebElement:
    return page.find_element(By.CSS_SELECTOR, f'.matrix tr[data-row="{host_id(page, host)}"]')


def cell(page: WebDriver, host: str, control: str) -> WebElement:
    return page.find_element(
        By.CSS_SELECTOR, f'.matrix td[data-key="{host_id(page, host)}-{control}"] button'
    )


def shown_rows(page: WebDriver) -> list[str]:
    return [
        r.find_element(By.CSS_SELECTOR, "th span").text
        for r in page.find_elements(By.CSS_SELECTOR, ".matrix tbody tr")
        if r.is_displayed()
    ]


def shown(page: WebDriver) -> str:
    return page.find_element(By.ID, "shown").text


def search(page: WebDriver, text: str) -> None:
    box = page.find_element(By.ID, "filter-text")
    box.clear()
    box.send_keys(text)


def click(page: WebDriver, element: WebElement) -> None:
    """Click like a person: scrolled into the middle of the window, clear of the sticky toolbar."""
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def open_detail(page: WebDriver, element: WebElement) -> WebElement:
    click(page, element)
    dialog = page.find_element(By.ID, "detail")
    assert dialog.is_displayed()
    return dialog


def close_detail(page: WebDriver) -> None:
    if page.find_element(By.ID, "detail").is_displayed():
        page.find_element(By.ID, "detail-close").click()


def test_loads_with_every_host_and_the_verdict(page: WebDriver) -> None:
    assert page.title == "Compliance report · fixtures · 2026-12-03 10:00 UTC"
    assert page.find_element(By.ID, "verdict").text.startswith("✗ FAIL")
    assert shown_rows(page) == ["broken-01", "db-01", "down-01", "new-01", "old-01", "web-01"]
    assert shown(page) == "228 of 228 cells"


def test_status_filter(page: WebDriver) -> None:
    status_chip(page, "fail").click()
    assert status_chip(page, "fail").get_attribute("aria-pressed") == "true"
    assert shown_rows(page) == ["old-01", "web-01"]
    assert shown(page) == "2 of 228 cells"
    assert cell(page, "web-01", "RAC-04").is_displayed()
    assert not cell(page, "web-01", "RAC-02").is_displayed()  # a pass, in a shown row
    assert not row(page, "db-01").is_displayed()
    headers = [
        h.text for h in page.find_elements(By.CSS_SELECTOR, ".matrix thead th[data-col]") if h.is_displayed()
    ]
    assert headers == ["02", "04"]  # RAC-02 (old-01) and RAC-04 (web-01)
    status_chip(page, "drift").click()  # a second status widens the filter
    assert shown(page) == "3 of 228 cells"
    assert cell(page, "web-01", "RAC-01").is_displayed()


def test_status_and_host_filters_together(page: WebDriver) -> None:
    status_chip(page, "fail").click()
    Select(page.find_element(By.ID, "filter-host")).select_by_visible_text("web-01")
    assert shown_rows(page) == ["web-01"]
    assert shown(page) == "1 of 228 cells"


def test_group_filter(page: WebDriver) -> None:
    Select(page.find_element(By.ID, "filter-host")).select_by_value("g:production")
    assert shown_rows(page) == ["db-01", "web-01"]
    assert shown(page) == "76 of 228 cells"


def test_family_filter(page: WebDriver) -> None:
    Select(page.find_element(By.ID, "filter-family")).select_by_value("RAC")
    assert shown(page) == "24 of 228 cells"
    families = [
        h.text for h in page.find_elements(By.CSS_SELECTOR, ".matrix th[data-fam]") if h.is_displayed()
    ]
    assert families == ["RAC"]


def test_search_reaches_the_evidence(page: WebDriver) -> None:
    search(page, "pwned")
    assert shown(page) == "1 of 228 cells"
    assert cell(page, "web-01", "RAC-04").is_displayed()
    search(page, "passwordauthentication no")
    assert shown_rows(page) == ["old-01", "web-01"]
    search(page, "old-01 least privilege")  # host and control title
    assert shown(page) == "1 of 228 cells"
    search(page, "nothing like this")
    assert shown(page) == "0 of 228 cells"
    assert shown_rows(page) == []


def test_a_cell_opens_its_policy_and_evidence_as_text(page: WebDriver) -> None:
    dialog = open_detail(page, cell(page, "web-01", "RAC-04"))
    assert page.find_element(By.ID, "detail-title").text == "web-01 · RAC-04 Least privilege"
    text = dialog.text
    assert "Access follows least privilege: administrators are named accounts" in text  # the policy's words
    assert "a warning banner is shown" in text
    assert 'banner: <script>alert("pwned")</script> & more' in text  # shown, not run
    assert dialog.find_elements(By.TAG_NAME, "script") == []
    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert.text  # noqa: B018
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.save_screenshot(str(SCREENSHOTS / "report-detail.png"))


def test_a_cell_shows_both_modes(page: WebDriver) -> None:
    text = open_detail(page, cell(page, "web-01", "RAC-01")).text
    assert "Decides: verified in check mode at 2026-12-03 09:30 UTC: drift" in text
    assert "Also recorded: enforced at 2026-12-03 09:00 UTC: pass" in text
    assert "would change: RAC-01 | Write sshd_config" in text


def test_a_stale_cell_says_why(page: WebDriver) -> None:
    text = open_detail(page, cell(page, "web-01", "AUD-06")).text
    assert "stale: pass, 2 days old" in text
    assert "site.yml ran in enforce mode at 2026-12-03 09:00 UTC (ok) and did not refresh it" in text


def test_by_host_view_follows_the_filters(page: WebDriver) -> None:
    tab(page, "hosts")
    assert not page.find_element(By.ID, "view-matrix").is_displayed()
    status_chip(page, "error").click()
    sections = page.find_elements(By.CSS_SELECTOR, "#view-hosts details[data-item]")
    assert [
        s.find_element(By.CSS_SELECTOR, ".item-title").text.split()[0] for s in sections if s.is_displayed()
    ] == [
        "broken-01",
        "db-01",
    ]
    db = next(s for s in sections if s.get_attribute("data-host-section") == host_id(page, "db-01"))
    click(page, db.find_element(By.TAG_NAME, "summary"))
    rows = [r for r in db.find_elements(By.CSS_SELECTOR, "tr[data-key]") if r.is_displayed()]
    assert [r.get_attribute("data-key") for r in rows] == [f"{host_id(page, 'db-01')}-STO-02"]
    text = open_detail(page, rows[0].find_element(By.CSS_SELECTOR, "button.link")).text
    assert "psql: connection refused" in text


def test_by_control_view(page: WebDriver) -> None:
    tab(page, "controls")
    search(page, "STO-01")
    sections = [
        s
        for s in page.find_elements(By.CSS_SELECTOR, "#view-controls details[data-item]")
        if s.is_displayed()
    ]
    assert len(sections) == 1
    click(page, sections[0].find_element(By.TAG_NAME, "summary"))
    assert "Data sits on redundant storage" in sections[0].text
    rows = [r.text for r in sections[0].find_elements(By.CSS_SELECTOR, "tr[data-key]") if r.is_displayed()]
    assert any(r.split()[:2] == ["pass", "db-01"] for r in rows)
    assert any("no software RAID arrays on this host" in r for r in rows)


def test_changes_since_the_previous_report(page: WebDriver) -> None:
    changes = page.find_element(By.ID, "changes")
    assert "Compared with the report of 2026-12-02 10:00 UTC" in changes.text
    assert "New hosts: new-01" in changes.text
    newly = changes.find_element(By.CSS_SELECTOR, ".change-newly-failing")
    assert "web-01 · RAC-04 Least privilege pass → fail" in newly.text
    assert (
        "db-01 · STO-01 Redundant storage fail → pass"
        in changes.find_element(By.CSS_SELECTOR, ".change-fixed").text
    )
    assert "stale (pass)" in changes.find_element(By.CSS_SELECTOR, ".change-newly-stale").text
    text = open_detail(page, newly.find_element(By.CSS_SELECTOR, "button")).text
    assert "a warning banner is shown" in text


def logs(page: WebDriver, kind: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = page.get_log(kind)  # type: ignore[no-untyped-call]
    return entries


def test_no_script_error_and_no_network(page: WebDriver) -> None:
    errors = [e for e in logs(page, "browser") if e["level"] == "SEVERE"]
    assert errors == []
    urls = [
        json.loads(entry["message"])["message"]["params"].get("request", {}).get("url", "")
        for entry in logs(page, "performance")
    ]
    requested = {u.split(":", 1)[0] for u in urls if u}
    assert requested <= {"file", "data"}, requested
    assert page.execute_script("return document.querySelectorAll('[src], [href]').length") == 0


def test_screenshot(page: WebDriver) -> None:
    """The top of the page down to the matrix, for people to look at (reports/ is not committed)."""
    page.set_window_size(1400, 1750)
    page.execute_script("window.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "report.png"
    assert page.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    page.set_window_size(1400, 1000)
