"""Tests for module_utils/health_alert.py: the structured rampart-health syslog message."""

from __future__ import annotations

import syslog

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils import health_alert
from ansible_collections.rampart.hardening.plugins.module_utils.health_alert import format_alert, parse_alert
from hypothesis import given
from hypothesis import strategies as st


def test_format() -> None:
    assert format_alert("STO-01", "db1", "fail", 'md0 raid1 degraded [U_]\n "quoted" \\ end') == (
        'control=STO-01 host=db1 status=fail detail="md0 raid1 degraded [U_] \\"quoted\\" \\\\ end"'
    )


@pytest.mark.parametrize(
    ("control", "host", "status", "message"),
    [
        ("STO-01", "db1", "bad", "status 'bad' is not one of ok, warn, fail"),
        ("STO 01", "db1", "ok", "control 'STO 01' must be one token"),
        ("STO-01", "", "ok", "host '' must be one token"),
        ("STO-01", "db1 x=y", "ok", "host 'db1 x=y' must be one token"),
    ],
)
def test_bad_fields_are_refused(control: str, host: str, status: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_alert(control, host, status, "detail")


@given(detail=st.text(), status=st.sampled_from(health_alert.STATUSES))
def test_round_trip(detail: str, status: str) -> None:
    """Whatever the detail holds, a parser gets the same fields back (whitespace folded)."""
    fields = parse_alert(format_alert("STO-02", "pg-standby.example", status, detail))
    assert fields == {
        "control": "STO-02",
        "host": "pg-standby.example",
        "status": status,
        "detail": " ".join(detail.split()),
    }


def test_parse_refuses_other_messages() -> None:
    with pytest.raises(ValueError, match="not a rampart-health message"):
        parse_alert("kernel: md/raid1:md0: Disk failure on vdc")


def test_send_logs_with_tag_facility_and_severity(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(syslog, "openlog", lambda *a: calls.append(("openlog", a)))
    monkeypatch.setattr(syslog, "syslog", lambda *a: calls.append(("syslog", a)))
    monkeypatch.setattr(syslog, "closelog", lambda: calls.append(("closelog", ())))
    message = health_alert.send_alert("STO-01", "db1", "fail", "md0 degraded")
    assert calls == [
        ("openlog", ("rampart-health", 0, syslog.LOG_DAEMON)),
        ("syslog", (syslog.LOG_ERR, message)),
        ("closelog", ()),
    ]
