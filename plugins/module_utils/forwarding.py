"""What AUD-07 means on a forwarding host, decided from evidence read there (pure).

The log_forwarder role gathers the evidence (rsyslog's state, when its forwarding file was last
written, the delivery marker's search at the collector, or the live connections to a collector
outside the inventory) and passes it here; the checks returned go into the AUD-07 record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def rsyslog_check(show: str, config_mtime: float | None, config: str) -> dict[str, Any]:
    """rsyslog runs and started after its forwarding file was last written (so it loaded it).

    ``show`` is ``systemctl show --timestamp=unix -p ActiveState -p ActiveEnterTimestamp rsyslog``.
    """
    props = dict(line.split("=", 1) for line in show.splitlines() if "=" in line)
    state = props.get("ActiveState", "unknown")
    started = _unix(props.get("ActiveEnterTimestamp", ""))
    if config_mtime is None:
        ok, evidence = False, f"{config} is missing; rsyslog is {state}"
    elif state != "active" or started is None:
        ok, evidence = False, f"rsyslog is {state}"
    else:
        ok = started >= int(config_mtime)
        evidence = f"rsyslog active since @{started}, {config} written @{int(config_mtime)}" + (
            "" if ok else ": rsyslog has not loaded it yet"
        )
    return {"name": "rsyslog runs with the forwarding configuration", "ok": ok, "evidence": evidence}


def delivery_check(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The forwarding is proven end to end.

    With the collector in the inventory (``inventory_host``), a marker logged on this host must
    be found in the collector's store for this host (``search`` is the registered grep). Without
    it, rsyslogd must hold an established connection to the collector's ``port``
    (``connections``: ``ss -tnpH state established`` output). ``attempted`` false (and a
    ``reason``) is a failed check: nothing passes unproven.
    """
    collector, port = str(evidence.get("collector", "")), int(evidence.get("port", 6514))
    inventory_host = str(evidence.get("inventory_host", ""))
    if not evidence.get("attempted"):
        reason = str(evidence.get("reason", ""))
        return {
            "name": "forwarded events reach the collector",
            "ok": False,
            "evidence": f"not proven: {reason}",
        }
    if inventory_host:
        search = evidence.get("search") or {}
        found = search.get("rc") == 0
        store = str(evidence.get("store", ""))
        return {
            "name": "a marker logged here arrived at the collector under this host's name",
            "ok": found,
            "evidence": f"marker found in {str(search.get('stdout', '')).strip()} on {inventory_host}"
            if found
            else f"marker not found under {store}/<this host>/ on {inventory_host} "
            f"within {int(evidence.get('timeout', 0))} s",
        }
    live = [
        c
        for c in parse_ss(str(evidence.get("connections", "")))
        if c["peer"].endswith(f":{port}") and "rsyslogd" in c["process"]
    ]
    return {
        "name": f"rsyslog holds a connection to {collector}:{port}",
        "ok": bool(live),
        "evidence": "rsyslogd connected to " + ", ".join(c["peer"] for c in live)
        if live
        else f"no established rsyslogd connection to {collector}:{port} (a collector outside the "
        "inventory cannot be searched for the marker)",
    }


def parse_ss(text: str) -> list[dict[str, str]]:
    """``ss -tnpH state established`` lines -> [{local, peer, process}]."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            found.append({"local": fields[2], "peer": fields[3], "process": " ".join(fields[4:])})
    return found


def _unix(value: str) -> int | None:
    value = value.strip()
    if value.startswith("@") and value[1:].isdigit():
        return int(value[1:])
    return None


def forwarding_checks(evidence: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The AUD-07 checks of a forwarding host, from the evidence the role gathered (see the filter)."""
    mtime = evidence.get("config_mtime")
    return [
        rsyslog_check(
            str(evidence.get("rsyslog", "")),
            float(mtime) if mtime is not None else None,
            str(evidence.get("config")),
        ),
        delivery_check(evidence),
    ]
