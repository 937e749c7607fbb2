"""VM records and pid tracking: `down` stops only the QEMU this checkout started."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import naming, qemu, vms


def record(argv: list[str], pid: int, host: str = "h1") -> vms.VmRecord:
    return vms.VmRecord(
        lab="t",
        host=host,
        release="trixie",
        checkout="abc123",
        resource=f"rampart-t-abc123-{host}",
        pid=pid,
        argv=tuple(argv),
        port=40022,
        settings=vms.settings_dict(naming.VmSettings(disks=2, host_ports=(5514,))),
        image="/repo/.lab/vm/images/trixie-0123456789abcdef",
        boot="snapshot",
        started=1700000000.0,
    )


def test_record_round_trips_through_json() -> None:
    rec = record(["qemu-system-x86_64", "-name", "x"], 1234)
    assert vms.VmRecord.from_json(rec.to_json()) == rec
    assert rec.settings["host_ports"] == [5514]


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], list[str], Path]]:
    """A process standing in for QEMU: its own command line, started in a VM folder."""
    folder = tmp_path / "vm"
    folder.mkdir()
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "rampart-t-abc123-h1"]
    proc = subprocess.Popen(argv, cwd=folder)
    # Until the child has exec'd, /proc shows the parent's command line: wait for ours.
    deadline = time.monotonic() + 10
    while qemu.process_state(proc.pid, argv, folder) != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    yield proc, argv, folder
    proc.kill()
    proc.wait()


def test_stop_stops_the_recorded_process(sleeper: tuple[subprocess.Popen[bytes], list[str], Path]) -> None:
    proc, argv, folder = sleeper
    assert vms.stop(folder, record(argv, proc.pid)) is True
    proc.wait(timeout=10)  # returns at once: it was stopped (and maybe already reaped by stop)
    assert qemu.process_state(proc.pid, argv, folder) == "gone"


def test_stop_leaves_a_process_with_another_command_line(
    sleeper: tuple[subprocess.Popen[bytes], list[str], Path],
) -> None:
    proc, argv, folder = sleeper
    assert vms.stop(folder, record([*argv[:-1], "rampart-t-abc123-h2"], proc.pid)) is False
    assert proc.poll() is None


def test_stop_leaves_a_process_in_another_folder(
    sleeper: tuple[subprocess.Popen[bytes], list[str], Path], tmp_path: Path
) -> None:
    proc, argv, _ = sleeper
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert vms.stop(elsewhere, record(argv, proc.pid)) is False
    assert proc.poll() is None


def test_list_vms_reads_records_and_checks_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleeper: tuple[subprocess.Popen[bytes], list[str], Path]
) -> None:
    proc, argv, _ = sleeper
    run = tmp_path / "run"
    monkeypatch.setattr(vms, "RUN_DIR", run)
    for lab, host, pid in (("t", "h1", proc.pid), ("t", "h2", 999999999), ("other", "h3", 999999999)):
        folder = run / lab / host
        folder.mkdir(parents=True)
        rec = record(argv, pid, host)
        (folder / vms.VM_JSON).write_text(rec.to_json())
    (run / "t" / "broken").mkdir()
    (run / "t" / "broken" / vms.VM_JSON).write_text("{")
    # h1's record names this folder, but the process runs in another one: not ours.
    states = {vm.record.host: vm.state for vm in vms.list_vms("t")}
    assert states == {"h1": "stopped", "h2": "stopped"}
    assert [vm.record.host for vm in vms.list_vms()] == ["h3", "h1", "h2"]
