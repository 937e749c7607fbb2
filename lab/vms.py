"""Start, list and remove a lab's VMs (the QEMU side of ``up``/``down``/``status``).

Each VM lives in ``.lab/vm/run/<lab>/<host>/``: its disks (qcow2 overlays), QEMU's
sockets, logs and pidfile, its SSH host keys and ``vm.json``, the record of what was
started (pid and exact command line). ``down`` stops a QEMU only when the process
with that pid still has that command line and working directory, so it never touches
a process this checkout did not start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab import naming, qemu
from lab import recipe as r
from lab.images import LOCK_DIR, LOG_DIR
from lab.inventory import LabHost
from lab.qga import AgentError, GuestAgent, guest_agent, monitor
from lab.ssh import SshPaths, forget_host_keys, known_hosts_pattern, public_key, set_host_keys, wait_for_ssh
from lab.util import atomic_write, file_lock, say
from lab.vmimages import RUN_DIR, VmImage, require_image

VM_JSON = "vm.json"
HOST_KEYS_DIR = "hostkeys"
SNAPSHOTS = "snapshots"
SNAPSHOT_JSON = "snapshot.json"
TEMPLATE_JSON = "template.json"
READY_TIMEOUT = 300.0
START_TIMEOUT = 30.0
CONSOLE_TAIL = 40

# ssh-keygen -A's set, generated on the host: RSA alone costs ~20 s of emulated CPU.
HOST_KEY_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rsa", ("-b", "3072")),
    ("ecdsa", ("-b", "256")),
    ("ed25519", ()),
)

# Runs as root in the guest through the guest agent, as few processes as possible (each
# costs a few tenths of a second emulated). Unpacks the files of qemu.prepare_files (tar
# run by root keeps their owners and modes) and sets the hostname. A resumed clone also
# gets the clock set (it wakes up at the moment the template was saved) and sshd restarted
# for its own host keys. On a first boot sshd is waiting for the host keys
# (lab/vmimage/rampart-lab-vm-host-keys.service). Clones keep the template's machine-id:
# a new one needs journald restarted, and on bookworm (systemd 252) that turns auditing off.
PREPARE_SCRIPT = """\
set -eu
now=$1 clone=$2 name=$3
if [ "$clone" = 1 ]; then date -u -s "@$now" >/dev/null; fi
tar -x -C / -f -
echo "$name" > /proc/sys/kernel/hostname
if [ "$clone" = 1 ]; then systemctl try-restart ssh.service; fi
echo prepared
"""


@dataclass(frozen=True)
class VmRecord:
    """``vm.json``: what ``up`` started, so ``down`` and ``status`` can find it again.

    ``snapshot`` is the snapshot folder the VM's disks are overlays on (empty after a
    cold first boot): it must stay while the VM exists.
    """

    lab: str
    host: str
    release: str
    checkout: str
    resource: str
    pid: int
    argv: tuple[str, ...]
    port: int
    settings: dict[str, Any] = field(default_factory=dict)
    image: str = ""
    boot: str = "cold"
    started: float = 0.0
    snapshot: str = ""

    def to_json(self) -> str:
        """Serialise for ``vm.json``."""
        data = asdict(self)
        data["argv"] = list(self.argv)
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> VmRecord:
        """Parse ``vm.json``."""
        data = json.loads(text)
        data["argv"] = tuple(data["argv"])
        return cls(**data)


@dataclass(frozen=True)
class LabVm:
    """A VM folder of this checkout and whether its QEMU runs (``running``, ``stopped``)."""

    directory: Path
    record: VmRecord
    state: str

    @property
    def running(self) -> bool:
        """Whether the recorded QEMU process is alive."""
        return self.state == "running"


def settings_dict(settings: naming.VmSettings) -> dict[str, Any]:
    """Return VM settings as recorded in ``vm.json`` (JSON types)."""
    data = asdict(settings)
    data["host_ports"] = list(settings.host_ports)
    return data


def vm_dir(lab: str, host: str) -> Path:
    """Return the folder of one lab VM."""
    return RUN_DIR / lab / host


def _state(directory: Path, record: VmRecord) -> str:
    status = qemu.process_state(record.pid, record.argv, directory)
    return "running" if status == "running" else "stopped"


def list_vms(lab: str | None = None) -> list[LabVm]:
    """Return this checkout's VMs (of one lab, or all), running or not."""
    pattern = f"{lab}/*/{VM_JSON}" if lab else f"*/*/{VM_JSON}"
    found: list[LabVm] = []
    for path in sorted(RUN_DIR.glob(pattern)):
        try:
            record = VmRecord.from_json(path.read_text())
        except (OSError, ValueError, TypeError, KeyError):
            continue
        found.append(LabVm(path.parent, record, _state(path.parent, record)))
    return found


def qemu_version() -> str:
    """Return the installed QEMU's version (part of the snapshot shape)."""
    if shutil.which(qemu.QEMU) is None:
        raise RuntimeError(f"{qemu.QEMU} is not installed: run ./rampart setup (apt: qemu-system-x86)")
    proc = subprocess.run([qemu.QEMU, "--version"], capture_output=True, text=True, check=True)
    return qemu.parse_qemu_version(proc.stdout)


def accel() -> str:
    """Return the accelerator: tcg unless RAMPART_LAB_VM_ACCEL says kvm (see lab/README.md)."""
    return os.environ.get("RAMPART_LAB_VM_ACCEL", "tcg")


def machine_for(image: VmImage, settings: naming.VmSettings) -> qemu.Machine:
    """Return the QEMU machine of a VM with ``settings`` booting ``image``."""
    return qemu.Machine(
        kernel=str(image.kernel),
        initrd=str(image.initrd),
        cmdline=image.cmdline,
        memory_mib=settings.memory_mib,
        cpus=settings.cpus,
        disks=settings.disks,
        disk_size_mib=settings.disk_size_mib,
        accel=accel(),
    )


# --- processes ---------------------------------------------------------------------------


def _log_tail(path: Path, count: int = CONSOLE_TAIL, start: int = 0) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(qemu.tail(text.splitlines(), count)) or "(empty)"


def failure_report(directory: Path, what: str) -> str:
    """Return ``what`` with the tails of the VM's console and QEMU logs (for a loud failure)."""
    return (
        f"{what}\n--- last {CONSOLE_TAIL} lines of {directory / qemu.CONSOLE_LOG} ---\n"
        f"{_log_tail(directory / qemu.CONSOLE_LOG)}\n"
        f"--- {directory / qemu.QEMU_LOG} ---\n{_log_tail(directory / qemu.QEMU_LOG, 15)}"
    )


def _launch(directory: Path, argv: list[str]) -> subprocess.Popen[bytes] | None:
    """Start QEMU in ``directory``; None if its SSH port was taken, an error if it fails otherwise."""
    log_path = directory / qemu.QEMU_LOG
    offset = log_path.stat().st_size if log_path.exists() else 0
    for stale in (qemu.QMP_SOCKET, qemu.QGA_SOCKET, qemu.PIDFILE):
        (directory / stale).unlink(missing_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        offset = log.tell()
        proc = subprocess.Popen(
            argv,
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            errors = _log_tail(log_path, 15, offset)
            if qemu.hostfwd_failed(errors):
                return None
            raise RuntimeError(f"QEMU exited with {proc.returncode} at start:\n{errors}")
        if (directory / qemu.QMP_SOCKET).exists() and (directory / qemu.PIDFILE).exists():
            return proc
        time.sleep(0.05)
    _kill(proc.pid)
    raise RuntimeError(f"QEMU did not start within {START_TIMEOUT:.0f} s:\n{_log_tail(log_path, 15, offset)}")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _wait_gone(pid: int, directory: Path, argv: Sequence[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Reap it if it is our child (started in this process); otherwise poll /proc.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if qemu.process_state(pid, argv, directory) != "running":
            return True
        time.sleep(0.1)
    return False


def stop(directory: Path, record: VmRecord) -> bool:
    """Stop the VM's QEMU if it is still the process we started; return whether one was stopped."""
    if qemu.process_state(record.pid, record.argv, directory) != "running":
        return False
    try:
        with monitor(directory / qemu.QMP_SOCKET, timeout=5.0) as mon:
            mon.call("quit")
        asked = True
    except (OSError, AgentError):
        asked = False
    if asked and _wait_gone(record.pid, directory, record.argv, 5.0):
        return True
    # Checked again right before each signal: the pid must still be our QEMU.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if qemu.process_state(record.pid, record.argv, directory) != "running":
            return True
        os.kill(record.pid, sig)
        if _wait_gone(record.pid, directory, record.argv, 5.0):
            return True
    raise RuntimeError(f"QEMU {record.pid} ({record.resource}) did not stop")


# --- disks and keys ----------------------------------------------------------------------


def _qemu_img(*args: str) -> None:
    subprocess.run([qemu.QEMU_IMG, *args], check=True, capture_output=True, text=True)


def _overlay(path: Path, backing: Path) -> None:
    path.unlink(missing_ok=True)
    _qemu_img("create", "-q", "-f", "qcow2", "-b", str(backing.resolve()), "-F", "qcow2", str(path))


def _blank_disks(directory: Path, settings: naming.VmSettings) -> None:
    for index in range(1, settings.disks + 1):
        path = directory / qemu.disk_file(index)
        path.unlink(missing_ok=True)
        _qemu_img("create", "-q", "-f", "qcow2", str(path), f"{settings.disk_size_mib}M")


def host_keys(directory: Path, hostname: str) -> dict[str, bytes]:
    """Return this VM's SSH host keys (file name -> bytes), generating them on first use."""
    keys = directory / HOST_KEYS_DIR
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    for key_type, options in HOST_KEY_TYPES:
        name = f"ssh_host_{key_type}_key"
        if not (keys / name).exists() or not (keys / f"{name}.pub").exists():
            (keys / name).unlink(missing_ok=True)
            (keys / f"{name}.pub").unlink(missing_ok=True)
            subprocess.run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    key_type,
                    *options,
                    "-N",
                    "",
                    "-C",
                    f"root@{hostname}",
                    "-f",
                    str(keys / name),
                ],
                check=True,
                capture_output=True,
            )
        files[name] = (keys / name).read_bytes()
        files[f"{name}.pub"] = (keys / f"{name}.pub").read_bytes()
    return files


# --- booting -----------------------------------------------------------------------------


def _start(
    directory: Path, machine: qemu.Machine, name: str, host_ports: Sequence[int], incoming: str | None
) -> tuple[int, list[str], subprocess.Popen[bytes]]:
    """Start QEMU on a free SSH port; return (port, argv, process)."""

    def attempt(port: int) -> tuple[list[str], subprocess.Popen[bytes]] | None:
        argv = qemu.qemu_argv(machine, qemu.Instance(name, port, tuple(host_ports), incoming))
        proc = _launch(directory, argv)
        return None if proc is None else (argv, proc)

    port, (argv, proc) = qemu.with_free_port(attempt)
    return port, argv, proc


def _prepare(
    agent: GuestAgent, hostname: str, user: str, *, pubkey: str, keys: dict[str, bytes], clone: bool
) -> None:
    files = qemu.prepare_files(
        hostname=hostname,
        user=user,
        uid=r.ADMIN_UID,
        authorized_key=pubkey,
        host_keys=keys,
    )
    payload = qemu.prepare_payload(files, int(time.time()))
    argv = ["/bin/sh", "-c", PREPARE_SCRIPT, "prepare", f"{time.time():.3f}", str(int(clone)), hostname]
    result = agent.run(argv, stdin=payload, timeout=120.0)
    if not result.ok:
        raise AgentError(f"preparing the guest failed (exit {result.exitcode}): {result.stderr.strip()}")


def _settle(agent: GuestAgent, label: str, timeout: float) -> None:
    """Wait until systemd has finished booting; warn about failed units."""
    result = agent.run(["/bin/systemctl", "is-system-running", "--wait"], timeout=timeout)
    state = result.stdout.strip()
    if state == "running":
        return
    failed = agent.run(["/bin/systemctl", "--failed", "--no-legend", "--plain"], timeout=60.0).stdout.strip()
    if state == "degraded":
        say(f"{label}: booted degraded; failed units: {failed or '?'}")
        return
    raise AgentError(f"systemd is {state or 'unknown'} after booting: {failed}")


def _resume(directory: Path, deadline: float) -> None:
    """Wait until QEMU has loaded the memory image, then let the guest run.

    The template was stopped before it was saved, so the clone starts paused.
    """
    with monitor(directory / qemu.QMP_SOCKET, timeout=30.0) as mon:
        while True:
            status = mon.call("query-migrate").get("status")
            if status == "completed":
                break
            if status in ("failed", "cancelled"):
                raise AgentError(f"loading the memory snapshot {status}")
            if time.monotonic() > deadline:
                raise TimeoutError("loading the memory snapshot took too long")
            time.sleep(0.05)
        if not mon.call("query-status").get("running"):
            mon.call("cont")


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("out of time")
    return left


def _boot_until_ready(
    directory: Path,
    proc_pid: int,
    argv: Sequence[str],
    *,
    label: str,
    hostname: str,
    user: str,
    pubkey: str,
    keys: dict[str, bytes],
    clone: bool,
    deadline: float,
    steps: dict[str, float],
) -> None:
    """Wait for the guest agent, prepare the guest and wait for the boot to finish.

    Adds the seconds each step took to ``steps``.
    """

    def alive() -> bool:
        return qemu.process_state(proc_pid, argv, directory) == "running"

    with guest_agent(directory / qemu.QGA_SOCKET) as agent:
        mark = time.monotonic()
        agent.wait(_remaining(deadline), alive=alive)
        steps["agent"] = time.monotonic() - mark
        mark = time.monotonic()
        _prepare(agent, hostname, user, pubkey=pubkey, keys=keys, clone=clone)
        steps["prepare"] = time.monotonic() - mark
        mark = time.monotonic()
        _settle(agent, label, _remaining(deadline))
        steps["settle"] = time.monotonic() - mark


def _record(
    directory: Path,
    spec: naming.HostSpec,
    *,
    lab: str,
    checkout: str,
    image: VmImage,
    argv: list[str],
    pid: int,
    port: int,
    boot: str,
    snapshot: str,
) -> VmRecord:
    assert spec.vm is not None
    record = VmRecord(
        lab=lab,
        host=spec.name,
        release=spec.release,
        checkout=checkout,
        resource=argv[argv.index("-name") + 1],
        pid=pid,
        argv=tuple(argv),
        port=port,
        settings=settings_dict(spec.vm),
        image=str(image.directory),
        boot=boot,
        started=time.time(),
        snapshot=snapshot,
    )
    atomic_write(directory / VM_JSON, record.to_json())
    return record


def _read_pid(directory: Path, fallback: int) -> int:
    try:
        return int((directory / qemu.PIDFILE).read_text().strip())
    except (OSError, ValueError):
        return fallback


def _save_memory(work: Path) -> None:
    """Stop the template and save its memory to ``memory.state`` (QMP migrate), then quit QEMU."""
    with monitor(work / qemu.QMP_SOCKET, timeout=30.0) as mon:
        mon.call("stop")
        mon.call("migrate", uri=f"exec:cat > {qemu.MEMORY_STATE}")
        deadline = time.monotonic() + 300
        while True:
            status = mon.call("query-migrate")
            if status.get("status") == "completed":
                break
            if status.get("status") in ("failed", "cancelled") or time.monotonic() > deadline:
                raise RuntimeError(f"saving the memory snapshot failed: {status}")
            time.sleep(0.2)
        mon.call("quit")


def _stop_template(work: Path) -> None:
    """Stop the QEMU of an interrupted snapshot attempt in ``work``, if it still runs."""
    try:
        data = json.loads((work / TEMPLATE_JSON).read_text())
    except (OSError, ValueError):
        return
    _kill_if_ours(work, int(data["pid"]), data["argv"])


def ensure_snapshot(
    image: VmImage, machine: qemu.Machine, checkout: str, pubkey: str, timeout: float
) -> Path:
    """Return the folder of a booted template's memory snapshot for ``machine``, made if missing.

    The template boots cold once, settles, and is saved with QMP ``migrate`` to
    ``memory.state`` next to its (then frozen) disks; clones are overlays on those disks
    resumed with ``-incoming``. Kept with the image, so a new recipe drops them.
    """
    key = qemu.shape_key(machine, qemu_version())
    folder = image.directory / SNAPSHOTS / key
    if (folder / SNAPSHOT_JSON).exists():
        (folder / SNAPSHOT_JSON).touch()  # last used: see vmimages.prune_snapshots
        return folder
    with file_lock(LOCK_DIR / f"vm-snapshot-{key}.lock"):
        if (folder / SNAPSHOT_JSON).exists():
            return folder
        start = time.monotonic()
        work = folder.with_name(f".{key}.tmp")
        _stop_template(work)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        say(f"{image.release}: making a memory snapshot ({key}) from a cold boot, once per VM shape")
        _overlay(work / qemu.ROOT_DISK, image.root_disk)
        settings = naming.VmSettings(
            disks=machine.disks,
            disk_size_mib=machine.disk_size_mib,
            memory_mib=machine.memory_mib,
            cpus=machine.cpus,
        )
        _blank_disks(work, settings)
        name = naming.container_name("snapshot", checkout, key)
        port, argv, proc = _start(work, machine, name, (), None)
        pid = _read_pid(work, proc.pid)
        # Recorded so that a later attempt stops it if this one was interrupted.
        atomic_write(work / TEMPLATE_JSON, json.dumps({"pid": pid, "argv": argv}) + "\n")
        try:
            _boot_until_ready(
                work,
                pid,
                argv,
                label=f"{image.release} snapshot",
                hostname="rampart-lab-template",
                user=r.ADMIN_USER,
                pubkey=pubkey,
                keys=host_keys(work, "rampart-lab-template"),
                clone=False,
                deadline=time.monotonic() + timeout,
                steps={},
            )
            boot_seconds = time.monotonic() - start
            _save_memory(work)
        except (AgentError, TimeoutError, OSError, RuntimeError) as exc:
            _kill_if_ours(work, pid, argv)
            report = failure_report(work, f"{image.release}: the snapshot template did not come up: {exc}")
            raise RuntimeError(report) from exc
        except BaseException:
            _kill_if_ours(work, pid, argv)
            raise
        _wait_gone(pid, work, argv, 10.0)
        shutil.rmtree(work / HOST_KEYS_DIR, ignore_errors=True)
        meta = {
            "shape": key,
            "release": image.release,
            "machine": asdict(machine),
            "boot_seconds": round(boot_seconds, 1),
            "total_seconds": round(time.monotonic() - start, 1),
            "port": port,
        }
        (work / SNAPSHOT_JSON).write_text(json.dumps(meta, indent=2) + "\n")
        work.rename(folder)
        size = (folder / qemu.MEMORY_STATE).stat().st_size
        say(
            f"{image.release}: snapshot {key} ready in {time.monotonic() - start:.1f} s "
            f"(cold boot {boot_seconds:.1f} s, memory image {size / 1e6:.0f} MB)"
        )
        return folder


def _kill_if_ours(directory: Path, pid: int, argv: Sequence[str]) -> None:
    if qemu.process_state(pid, argv, directory) == "running":
        _kill(pid)
        _wait_gone(pid, directory, argv, 5.0)


def start_vm(
    lab: str,
    checkout: str,
    spec: naming.HostSpec,
    ssh: SshPaths,
    pubkey: str,
    *,
    timeout: float = READY_TIMEOUT,
    restart: LabVm | None = None,
) -> LabHost:
    """Create (or restart) one VM and return it once SSH and ``sudo -n true`` work.

    Raises with the console log's tail when the VM does not come up within ``timeout``.
    """
    assert spec.vm is not None
    settings = spec.vm
    if settings.host_ports and shutil.which("socat") is None:
        raise RuntimeError(
            f"{spec.name}: host ports need socat on this host: run ./rampart setup (apt: socat)"
        )
    directory = vm_dir(lab, spec.name)
    image = require_image(spec.release)
    machine = machine_for(image, settings)
    resource = naming.container_name(lab, checkout, spec.name)
    hostname = naming.hostname_for(spec.name)
    incoming: str | None = None
    snapshot_dir = ""
    if restart is not None:
        boot = "cold"  # its disks have moved on from any snapshot: boot them
        snapshot_dir = restart.record.snapshot
    else:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        boot = settings.boot
        if boot == "snapshot":
            snapshot = ensure_snapshot(image, machine, checkout, pubkey, timeout)
            _overlay(directory / qemu.ROOT_DISK, snapshot / qemu.ROOT_DISK)
            for index in range(1, settings.disks + 1):
                _overlay(directory / qemu.disk_file(index), snapshot / qemu.disk_file(index))
            incoming = str(snapshot / qemu.MEMORY_STATE)
            snapshot_dir = str(snapshot)
        else:
            _overlay(directory / qemu.ROOT_DISK, image.root_disk)
            _blank_disks(directory, settings)
    keys = host_keys(directory, hostname)
    boot_start = time.monotonic()
    deadline = boot_start + timeout
    port, argv, proc = _start(directory, machine, resource, settings.host_ports, incoming)
    pid = _read_pid(directory, proc.pid)
    _record(
        directory,
        spec,
        lab=lab,
        checkout=checkout,
        image=image,
        argv=argv,
        pid=pid,
        port=port,
        boot=boot,
        snapshot=snapshot_dir,
    )
    pattern = known_hosts_pattern(port)
    set_host_keys(ssh, {pattern: public_key(keys["ssh_host_ed25519_key.pub"].decode())})
    user = r.ADMIN_USER
    steps: dict[str, float] = {}
    try:
        if incoming is not None:
            _resume(directory, deadline)
            steps["resume"] = time.monotonic() - boot_start
        _boot_until_ready(
            directory,
            pid,
            argv,
            label=spec.name,
            hostname=hostname,
            user=user,
            pubkey=pubkey,
            keys=keys,
            clone=incoming is not None,
            deadline=deadline,
            steps=steps,
        )
        steps["ssh"] = wait_for_ssh(ssh, port, user, _remaining(deadline))
    except (AgentError, TimeoutError, OSError) as exc:
        _kill_if_ours(directory, pid, argv)
        what = f"{spec.name}: the VM did not come up within {timeout:.0f} s ({boot} boot): {exc}"
        raise RuntimeError(failure_report(directory, what)) from exc
    detail = ", ".join(f"{name} {seconds:.1f}" for name, seconds in steps.items())
    say(f"{spec.name}: {boot} boot to SSH + sudo in {time.monotonic() - boot_start:.1f} s ({detail})")
    return lab_host(spec.name, spec.release, resource, port, ssh)


def lab_host(name: str, release: str, resource: str, port: int, ssh: SshPaths) -> LabHost:
    """Return the inventory view of a VM."""
    return LabHost(
        name=name,
        release=release,
        container=resource,
        port=port,
        identity_file=str(ssh.identity),
        known_hosts=str(ssh.known_hosts),
        user=r.ADMIN_USER,
        kind="vm",
    )


def remove_vm(vm: LabVm, ssh: SshPaths) -> None:
    """Stop a VM (if it is still ours) and delete its folder and known_hosts line.

    Its console log is kept as ``.lab/logs/<resource>.console.log`` (the last one per VM name):
    the evidence when a scenario failed because a guest hung (scripts/test.sh prints its tail).
    """
    stop(vm.directory, vm.record)
    forget_host_keys(ssh, [known_hosts_pattern(vm.record.port)])
    console = vm.directory / qemu.CONSOLE_LOG
    if console.is_file():
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(console, LOG_DIR / f"{vm.record.resource}.console.log")
    shutil.rmtree(vm.directory, ignore_errors=True)


def _same(vm: LabVm, spec: naming.HostSpec) -> bool:
    assert spec.vm is not None
    if vm.record.release != spec.release:
        return False
    recorded = dict(vm.record.settings)
    wanted = settings_dict(spec.vm)
    # How it booted does not matter once it runs.
    recorded.pop("boot", None)
    wanted.pop("boot", None)
    if recorded != wanted:
        return False
    try:
        image = require_image(spec.release)
    except RuntimeError:
        return False
    return Path(vm.record.image) == image.directory


def up_vms(
    lab: str,
    checkout: str,
    specs: Sequence[naming.HostSpec],
    ssh: SshPaths,
    pubkey: str,
    *,
    timeout: float = READY_TIMEOUT,
) -> list[LabHost]:
    """Bring the lab's VMs to exactly ``specs``: keep running ones, restart stopped ones, drop extras."""
    existing = {vm.record.host: vm for vm in list_vms(lab)}
    wanted = {spec.name: spec for spec in specs}
    extras = [vm for name, vm in existing.items() if name not in wanted]
    if extras:
        say(f"{lab}: removing VMs no longer asked for: {', '.join(vm.record.host for vm in extras)}")
        for vm in extras:
            remove_vm(vm, ssh)

    def one(spec: naming.HostSpec) -> LabHost:
        current = existing.get(spec.name)
        if current is not None and not _same(current, spec):
            say(f"{spec.name}: settings or image changed; recreating the VM")
            remove_vm(current, ssh)
            current = None
        if current is not None and current.running:
            wait_for_ssh(ssh, current.record.port, r.ADMIN_USER, 30.0)
            return lab_host(spec.name, spec.release, current.record.resource, current.record.port, ssh)
        if current is not None:
            forget_host_keys(ssh, [known_hosts_pattern(current.record.port)])
        return start_vm(lab, checkout, spec, ssh, pubkey, timeout=timeout, restart=current)

    return _parallel(one, specs)


def _parallel(work: Callable[[naming.HostSpec], LabHost], specs: Sequence[naming.HostSpec]) -> list[LabHost]:
    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:
        futures = [pool.submit(work, spec) for spec in specs]
        errors: list[str] = []
        hosts: list[LabHost] = []
        for future in futures:
            try:
                hosts.append(future.result())
            except Exception as exc:  # report every VM that failed, not just the first
                errors.append(str(exc))
        if errors:
            raise RuntimeError("\n\n".join(errors))
        return hosts


def down_vms(lab: str, ssh: SshPaths) -> list[str]:
    """Stop and delete every VM of the lab; return their resource names."""
    removed: list[str] = []
    for vm in list_vms(lab):
        remove_vm(vm, ssh)
        removed.append(vm.record.resource)
    lab_dir = RUN_DIR / lab
    if lab_dir.is_dir() and not any(lab_dir.iterdir()):
        lab_dir.rmdir()
    return removed
