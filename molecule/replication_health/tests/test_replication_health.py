"""STO-02 / MON-01 end to end on a PostgreSQL primary and a streaming standby (Debian 13, PostgreSQL 17).

Healthy replication passes; paused replay plus writes on the primary push the lag over the
1 MiB threshold, so the module fails naming the standby and the lag and the timer's check logs
the alert under the rampart-health tag; a stopped standby is reported missing by the primary.
Every test leaves replication streaming again.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).parents[2] / "resources"))
from labtest import control_record, run_oneshot

testinfra_hosts = ["ansible://pg-primary"]

STANDBY = "pg-standby"
SERVICE = "rampart-replication-health.service"
MODULE = "rampart.hardening.pg_replication_info"
LIMIT = 1048576  # replication_health_max_lag_bytes in converge.yml
MISSING = f"standby {STANDBY} is not connected (not in pg_stat_replication)"


@pytest.fixture(scope="module")
def standby() -> Any:
    return testinfra.get_host(
        f"ansible://{STANDBY}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"
    )


def sql(host: Any, statement: str) -> str:
    out: str = host.check_output(f"sudo -u postgres psql -X -A -t -q -c {shlex.quote(statement)}")
    return out.strip()


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(1)
    return False


def streaming(primary: Any) -> bool:
    """The standby is connected and has replayed everything the primary wrote."""
    lag = sql(
        primary,
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication "
        f"WHERE application_name = '{STANDBY}' AND state = 'streaming'",
    )
    return lag == "0"


def check(name: str, **args: Any) -> tuple[int, dict[str, Any]]:
    """Run the module through `ansible`, as an operator would (in check mode: it only reads);
    its exit status (2 when the module fails) and its result."""
    argv = ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], name, "--become", "--check"]
    argv += ["-m", MODULE, "-a", " ".join(f"{k}={v}" for k, v in args.items())]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=env, check=False)
    # `NAME | SUCCESS => {...}` or `NAME | FAILED! => {...}` (2.19 prints an [ERROR] summary first).
    found = re.search(rf"^{re.escape(name)} \| [A-Z]+!? => ", done.stdout, re.MULTILINE)
    assert found, done.stdout + done.stderr
    result: dict[str, Any] = json.JSONDecoder().raw_decode(done.stdout[found.end() :])[0]
    return done.returncode, result


def run_timer_check(host: Any) -> tuple[int, dict[str, Any]]:
    """Start the timer's service once (as the timer would): its exit status and the one alert it logged."""
    status, entries = run_oneshot(host, SERVICE)
    assert len(entries) == 1, entries
    return status, entries[0]


@pytest.fixture
def paused(host: Any, standby: Any) -> Iterator[None]:
    """Replay paused on the standby and ~8 MB written on the primary; resumed afterwards."""
    assert wait_for(lambda: streaming(host))
    sql(standby, "SELECT pg_wal_replay_pause()")
    try:
        sql(host, "CREATE TABLE IF NOT EXISTS lag_fill (n int, pad text)")
        sql(host, "INSERT INTO lag_fill SELECT g, repeat('x', 60) FROM generate_series(1, 80000) g")
        assert wait_for(
            lambda: (
                int(
                    sql(
                        host,
                        "SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))"
                        " FROM pg_stat_replication",
                    )
                    or 0
                )
                > LIMIT
            )
        )
        yield
    finally:
        sql(standby, "SELECT pg_wal_replay_resume()")
        assert wait_for(lambda: streaming(host))


@pytest.fixture
def standby_stopped(host: Any, standby: Any) -> Iterator[None]:
    assert wait_for(lambda: streaming(host))
    standby.check_output("sudo systemctl stop postgresql.service")
    try:
        assert wait_for(lambda: sql(host, "SELECT count(*) FROM pg_stat_replication") == "0")
        yield
    finally:
        standby.check_output("sudo systemctl start postgresql.service")
        assert wait_for(lambda: streaming(host))


def test_converge_reported_pass_on_both() -> None:
    reports = Path(os.environ["RAMPART_REPORT_DIR"])
    for name in ("pg-primary", STANDBY):
        control = control_record(reports, name, "STO-02")
        assert control["status"] == "pass", control


def test_healthy_primary_passes(host: Any) -> None:
    assert wait_for(lambda: streaming(host))
    rc, result = check("pg-primary", expected_standbys=STANDBY, max_lag_bytes=LIMIT)
    assert rc == 0, result["msg"]
    assert result["role"] == "primary"
    assert [s["application_name"] for s in result["standbys"]] == [STANDBY]
    assert result["standbys"][0]["state"] == "streaming"


def test_healthy_standby_passes() -> None:
    rc, result = check(STANDBY, max_lag_bytes=LIMIT)
    assert rc == 0, result["msg"]
    assert (result["role"], result["receiver"]["status"]) == ("standby", "streaming")


@pytest.mark.parametrize("target", ["pg-primary", STANDBY])
def test_timer_check_passes_and_logs_locally(host: Any, standby: Any, target: str) -> None:
    status, alert = run_timer_check(host if target == "pg-primary" else standby)
    assert status == 0
    assert alert["MESSAGE"].startswith(f"control=STO-02 host={target} status=ok detail=")


def test_timer_is_scheduled(host: Any) -> None:
    assert host.service("rampart-replication-health.timer").is_enabled
    assert host.service("rampart-replication-health.timer").is_running


@pytest.mark.usefixtures("paused")
def test_lag_over_the_threshold_fails_naming_the_standby_and_the_lag(host: Any) -> None:
    rc, result = check("pg-primary", expected_standbys=STANDBY, max_lag_bytes=LIMIT)
    assert (rc, result["healthy"]) == (2, False)  # ansible exits 2 when the module failed
    assert re.search(
        rf"PostgreSQL replication on pg-primary: standby {STANDBY} \([0-9.]+\) replay lag is [0-9]+ bytes "
        r"\([0-9.]+ MiB\), over the limit of 1048576 bytes \(1\.0 MiB\)",
        result["msg"],
    ), result["msg"]


@pytest.mark.usefixtures("paused")
def test_lag_alert_reaches_the_journal_with_the_tag(host: Any) -> None:
    status, alert = run_timer_check(host)
    assert status == 1
    assert re.match(
        rf'control=STO-02 host=pg-primary status=fail detail="standby {STANDBY} \([0-9.]+\) '
        r"replay lag is [0-9]+ bytes",
        alert["MESSAGE"],
    ), alert
    assert alert["PRIORITY"] == "3"  # err: log_forwarder sends it to the collector


@pytest.mark.usefixtures("paused")
def test_paused_standby_fails_on_its_own(standby: Any) -> None:
    status, alert = run_timer_check(standby)
    assert status == 1
    assert alert["MESSAGE"].startswith(
        f"control=STO-02 host={STANDBY} status=fail "
        'detail="WAL replay is paused (SELECT pg_wal_replay_resume() resumes it)'
    )


@pytest.mark.usefixtures("standby_stopped")
def test_stopped_standby_is_reported_missing(host: Any) -> None:
    rc, result = check("pg-primary", expected_standbys=STANDBY)
    assert (rc, result["healthy"]) == (2, False)  # ansible exits 2 when the module failed
    assert result["msg"] == f"PostgreSQL replication on pg-primary: {MISSING}"
    status, alert = run_timer_check(host)
    assert status == 1
    assert alert["MESSAGE"] == f'control=STO-02 host=pg-primary status=fail detail="{MISSING}"'


def test_host_without_database_is_not_applicable() -> None:
    control = control_record(Path(os.environ["RAMPART_REPORT_DIR"]), "no-database", "STO-02")
    assert (control["status"], control["summary"]) == (
        "not_applicable",
        "no PostgreSQL server is installed on this host",
    )
    other = testinfra.get_host(
        f"ansible://no-database?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"
    )
    assert not other.file("/etc/systemd/system/rampart-replication-health.timer").exists
    assert not other.file("/usr/local/lib/rampart-health/replication").exists


def converge(limit: str, extra: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    """The scenario's converge playbook on one host with one extra variable, as an operator runs it."""
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", limit, "-e", extra]
    argv.append(str(Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"))
    env = {
        **os.environ,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "RAMPART_REPORT_DIR": str(report_dir),
    }
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, check=False)


def test_a_declared_database_host_without_a_server_fails(tmp_path: Path) -> None:
    """Not applicable only where nothing says the host holds a database: declared a primary, it fails
    (and fails the play: replication_health_enforce is on by default)."""
    done = converge("no-database", "replication_health_expected_role=primary", tmp_path)
    assert done.returncode == 2, done.stdout[-3000:]
    control = control_record(tmp_path, "no-database", "STO-02")
    assert control["status"] == "fail"
    assert control["checks"][0]["evidence"] == (
        "no PostgreSQL server is installed, but the inventory declares this host a primary"
        " (replication_health_expected_role)"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "replication_health_timer_interval=often",
            "replication_health_timer_interval must be a systemd time span",
        ),
        ("replication_health_max_lag_bytes=-1", "must not be negative (got -1 and 60)"),
        (
            "replication_health_backend=oracle",
            "value of replication_health_backend must be one of: postgresql, mysql",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_changes(
    host: Any, tmp_path: Path, extra: str, message: str
) -> None:
    unit = "/etc/systemd/system/rampart-replication-health.service"
    before = host.file(unit).sha256sum
    done = converge("pg-primary", extra, tmp_path)
    assert done.returncode == 2
    output = done.stdout + done.stderr
    assert message in " ".join(output.split()), output
    assert "changed=0" in done.stdout
    assert host.file(unit).sha256sum == before
