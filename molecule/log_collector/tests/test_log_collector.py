"""AUD-07 / ENC-01 end to end: the forwarder's events reach the collector over TLS only, per host,
and survive a collector outage."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import testinfra

testinfra_hosts = ["ansible://log-forwarder"]


@pytest.fixture(scope="module")
def collector() -> Any:
    return testinfra.get_host(
        f"ansible://log-collector?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"
    )


def collector_address(collector: Any) -> str:
    return collector.check_output("hostname -I").split()[0]


def arrived(collector: Any, token: str, timeout: float = 30.0) -> bool:
    """Poll the collector's per-host store for `token`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if collector.run(f"sudo grep -rqF {token} /var/log/remote/log-forwarder/").rc == 0:
            return True
        time.sleep(1)
    return False


def test_event_arrives_at_the_collector_under_the_senders_name(host: Any, collector: Any) -> None:
    token = f"rampart-{uuid.uuid4().hex}"
    host.check_output(f"logger -p authpriv.notice {token}")
    assert arrived(collector, token)


def test_plain_tcp_sender_is_refused(host: Any, collector: Any) -> None:
    token = f"rampart-plain-{uuid.uuid4().hex}"
    host.run(f"logger --tcp --server {collector_address(collector)} --port 6514 {token}")
    assert not arrived(collector, token, timeout=8)


def test_events_written_while_the_collector_is_down_arrive_later(host: Any, collector: Any) -> None:
    token = f"rampart-outage-{uuid.uuid4().hex}"
    # syslog.socket would start rsyslog again on the next local message: stop both.
    collector.check_output("sudo systemctl stop syslog.socket rsyslog.service")
    try:
        host.check_output(f"logger -p authpriv.warning {token}")
        time.sleep(3)
        assert not arrived(collector, token, timeout=2)
    finally:
        collector.check_output("sudo systemctl start rsyslog.service syslog.socket")
    assert arrived(collector, token, timeout=60)


def test_collector_listens_for_tls_only(collector: Any) -> None:
    listeners = collector.check_output("sudo ss -H -tlnp")
    assert ":6514" in listeners and "rsyslogd" in listeners
    assert ":514 " not in listeners


def test_controls_reported() -> None:
    report = json.loads((Path(os.environ["RAMPART_REPORT_DIR"]) / "log-collector.json").read_text())
    assert report["controls"]["AUD-07"]["enforce"]["status"] == "pass"
