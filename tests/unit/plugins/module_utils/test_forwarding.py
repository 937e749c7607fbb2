"""AUD-07 on a forwarding host, decided from evidence captured on lab hosts."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.rampart.hardening.plugins.filter.forwarding import log_forwarding_checks
from ansible_collections.rampart.hardening.plugins.module_utils.forwarding import (
    delivery_check,
    forwarding_checks,
    rsyslog_check,
)

CONF = "/etc/rsyslog.d/90-rampart-forward.conf"
ACTIVE = "ActiveState=active\nActiveEnterTimestamp=@1764751200\n"
# `ss -tnpH state established '( dport = :6514 )'` on a forwarder (Debian 13)
SS = '0      0      10.89.0.3:52044 10.89.0.7:6514 users:(("rsyslogd",pid=812,fd=9))\n'


@pytest.mark.parametrize(
    ("show", "mtime", "ok", "evidence"),
    [
        (ACTIVE, 1764751100.5, True, "rsyslog active since @1764751200, " + CONF + " written @1764751100"),
        (ACTIVE, 1764751300.0, False, "rsyslog has not loaded it yet"),
        ("ActiveState=inactive\nActiveEnterTimestamp=\n", 1764751100.0, False, "rsyslog is inactive"),
        ("ActiveState=inactive\n", None, False, CONF + " is missing; rsyslog is inactive"),
        ("", 1.0, False, "rsyslog is unknown"),
    ],
)
def test_rsyslog_must_run_the_forwarding_file(
    show: str, mtime: float | None, ok: bool, evidence: str
) -> None:
    check = rsyslog_check(show, mtime, CONF)
    assert check["ok"] is ok
    assert evidence in check["evidence"]


def at_collector(search: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "collector": "10.89.0.7",
        "inventory_host": "logs-01",
        "attempted": True,
        "search": search,
        "store": "/var/log/remote",
        "timeout": 30,
    }


def test_a_marker_found_at_the_collector_is_the_proof() -> None:
    found = {"rc": 0, "stdout": "/var/log/remote/web-01/2026-12-03.log\n"}
    check = delivery_check(at_collector(found))
    assert check["ok"] is True
    assert check["evidence"] == "marker found in /var/log/remote/web-01/2026-12-03.log on logs-01"


def test_a_marker_that_never_arrived_fails() -> None:
    check = delivery_check(at_collector({"rc": 1, "stdout": ""}))
    assert check["ok"] is False
    assert check["evidence"] == "marker not found under /var/log/remote/<this host>/ on logs-01 within 30 s"


def test_nothing_passes_unproven() -> None:
    check = delivery_check({**at_collector(None), "attempted": False, "reason": "check mode, not in place"})
    assert check == {
        "name": "forwarded events reach the collector",
        "ok": False,
        "evidence": "not proven: check mode, not in place",
    }


@pytest.mark.parametrize(
    ("text", "ok"),
    [(SS, True), ("", False), (SS.replace("rsyslogd", "nc"), False), (SS.replace(":6514", ":6515"), False)],
)
def test_a_collector_outside_the_inventory_needs_a_live_connection(text: str, ok: bool) -> None:
    check = delivery_check(
        {"collector": "logs.example.net", "port": 6514, "attempted": True, "connections": text}
    )
    assert check["ok"] is ok
    assert ("rsyslogd connected to 10.89.0.7:6514" in check["evidence"]) is ok


def test_the_filter_builds_both_checks() -> None:
    evidence: dict[str, Any] = {
        "rsyslog": ACTIVE,
        "config": CONF,
        "config_mtime": 1764751100.0,
        "collector": "10.89.0.7",
        "port": "6514",
        "inventory_host": "logs-01",
        "store": "/var/log/remote",
        "timeout": "30",
        "attempted": True,
        "search": {"rc": 0, "stdout": "/var/log/remote/web-01/x.log"},
        "connections": "",
    }
    checks = log_forwarding_checks(evidence)
    assert [c["ok"] for c in checks] == [True, True]
    assert forwarding_checks(evidence) == checks
    with pytest.raises(AnsibleFilterError, match="expected a dict of evidence"):
        log_forwarding_checks("nope")
