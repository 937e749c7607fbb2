"""report.html without a browser: one self-contained, escaped file."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.report import html
from ansible_collections.rampart.hardening.plugins.module_utils.report.catalogue import Catalogue
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import Report, build_report
from ansible_collections.rampart.hardening.plugins.module_utils.report.records import parse_host_file

EVIL = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def page(fleet: Report) -> str:
    return html.render(fleet)


def test_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    assert not re.search(r"<(?:link|iframe|object|embed|img)\b", page)
    assert page.count("<style>") == 1
    assert re.findall(r"<script\b[^>]*>", page) == [
        '<script type="application/json" id="report-data">',
        "<script>",
    ]
    assert "default-src 'none'" in page  # and the browser is told not to fetch anything


def test_evidence_is_escaped(page: str) -> None:
    assert '<script>alert("pwned")</script>' not in page
    assert "banner: &lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; more" in page


def test_everything_from_hosts_is_escaped(catalogue: Catalogue) -> None:
    text = json.dumps(
        {
            "host": EVIL,
            "format": 2,
            "runs": [
                {
                    "playbook": EVIL,
                    "mode": "enforce",
                    "time": "2026-12-03T09:00:00Z",
                    "result": "failed",
                    "message": EVIL,
                }
            ],
            "controls": {
                "RAC-01": {
                    "enforce": {
                        "status": "fail",
                        "summary": EVIL,
                        "role": EVIL,
                        "playbook": EVIL,
                        "version": EVIL,
                        "time": "2026-12-03T09:00:10Z",
                        "checks": [
                            {"name": EVIL, "ok": False, "evidence": "</script><script>alert(2)</script>"}
                        ],
                    }
                }
            },
        }
    )
    host = parse_host_file(EVIL, text, EVIL)
    report = build_report(
        catalogue, [host], now=datetime(2026, 12, 3, 10, tzinfo=UTC), groups={EVIL: [EVIL]}, inventory=EVIL
    )
    page = html.render(report)
    assert EVIL not in page
    assert "<script>alert(2)" not in page
    assert page.count("</script>") == 2  # the page's own two
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_every_cell_has_its_detail_and_a_matrix_button(page: str, fleet: Report) -> None:
    cells = len(fleet.hosts) * len(fleet.catalogue.controls)
    assert page.count('<template id="d-') == cells
    assert page.count('<button type="button" class="cell ') == cells
    assert page.count('<template id="c-') == len(fleet.catalogue.controls)


def test_the_header(page: str) -> None:
    assert "Rampart security policy" in page
    assert "2026-12-03 10:00 UTC" in page
    assert '<div class="verdict verdict-fail" role="status" id="verdict">' in page
    assert "Stale after</dt><dd>7 days" in page


def test_not_implemented_controls_are_listed(page: str) -> None:
    section = page[
        page.index('id="not-implemented"') : page.index("</section>", page.index('id="not-implemented"'))
    ]
    assert "10 of 38" in section
    assert "<code>HRD-01</code>" in section and "<code>RAC-01</code>" not in section


def test_rendering_is_deterministic(fleet: Report) -> None:
    assert html.render(fleet) == html.render(fleet)


def test_a_passing_report_says_so(fleet: Report) -> None:
    page = html.render(replace(fleet, failing=()))
    assert "verdict-pass" in page and "no cell has a status the report fails on" in page
