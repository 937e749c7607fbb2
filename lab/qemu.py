"""QEMU for lab VMs, the pure parts: command lines, snapshot shapes, ports, process checks.

Every VM runs in its own folder (``.lab/vm/run/<lab>/<host>/``) as QEMU's working
directory, so the command line names its disks, sockets and logs by short relative
names (Unix socket paths are limited to 107 bytes). Nothing here starts a process.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import socket
import struct
import tarfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

QEMU = "qemu-system-x86_64"
QEMU_IMG = "qemu-img"

# Names inside a VM's folder (QEMU's working directory).
ROOT_DISK = "root.qcow2"
CONSOLE_LOG = "console.log"
QEMU_LOG = "qemu.log"
QMP_SOCKET = "qmp.sock"
QGA_SOCKET = "qga.sock"
PIDFILE = "qemu.pid"
MEMORY_STATE = "memory.state"

# Software emulation: /dev/kvm on the machines this lab runs on cannot run a stock kernel
# (see lab/README.md). RAMPART_LAB_VM_ACCEL=kvm uses KVM where it works.
TCG_ACCEL = ("-accel", "tcg,thread=multi,tb-size=64", "-cpu", "qemu64")
KVM_ACCEL = ("-accel", "kvm", "-cpu", "host")
MACHINE = "q35"

# Where the guest reaches the host's loopback ports it asked for (``host_ports``): QEMU's
# guestfwd needs an address inside the user-mode network that is neither the gateway
# (10.0.2.2, closed by restrict=on) nor the DNS address (10.0.2.3).
HOST_ALIAS = "10.0.2.100"

# Placeholders for what differs between instances of one shape (see ``shape_key``).
_PLACEHOLDER_NAME = "@name@"
_PLACEHOLDER_PORT = 1


def disk_file(index: int) -> str:
    """Return the file name of extra disk ``index`` (1-based): ``disk1.qcow2``, ..."""
    return f"disk{index}.qcow2"


def disk_serial(index: int) -> str:
    """Return the serial of extra disk ``index``: the guest sees /dev/disk/by-id/virtio-<serial>."""
    return f"rampart-disk{index}"


@dataclass(frozen=True)
class Machine:
    """What a VM is made of; two VMs with the same machine can share a memory snapshot.

    ``kernel``, ``initrd`` and ``cmdline`` come from the VM image; the disks are files in
    the VM's folder (``root.qcow2`` and ``disk1.qcow2``... of ``disk_size_mib`` each).
    """

    kernel: str
    initrd: str
    cmdline: str
    memory_mib: int = 1024
    cpus: int = 2
    disks: int = 0
    disk_size_mib: int = 256
    accel: str = "tcg"


@dataclass(frozen=True)
class Instance:
    """What differs between VMs of one machine: QEMU's name, ports, and a memory image to resume."""

    name: str
    ssh_port: int
    host_ports: tuple[int, ...] = ()
    incoming: str | None = None


def accel_args(accel: str) -> tuple[str, ...]:
    """Return the accelerator and CPU arguments for ``tcg`` or ``kvm``."""
    if accel == "tcg":
        return TCG_ACCEL
    if accel == "kvm":
        return KVM_ACCEL
    raise ValueError(f"unknown accelerator {accel!r}: expected tcg or kvm")


def netdev_arg(ssh_port: int, host_ports: Sequence[int]) -> str:
    """Return the ``-netdev user`` value: SSH forwarded from 127.0.0.1, the guest fenced in.

    ``restrict=on`` leaves the guest no route to the host or beyond; each of
    ``host_ports`` is opened as a guestfwd: a connection to 10.0.2.100:PORT in the guest
    runs ``socat`` on the host, which connects to 127.0.0.1:PORT (one per connection).
    """
    parts = ["user", "id=net0", "restrict=on", f"hostfwd=tcp:127.0.0.1:{ssh_port}-:22"]
    parts += [f"guestfwd=tcp:{HOST_ALIAS}:{port}-cmd:socat - TCP:127.0.0.1:{port}" for port in host_ports]
    return ",".join(parts)


def qemu_argv(machine: Machine, instance: Instance, binary: str = QEMU) -> list[str]:
    """Return the QEMU command line of a lab VM (run with the VM's folder as working directory)."""
    argv = [
        binary,
        "-name",
        instance.name,
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-machine",
        MACHINE,
        *accel_args(machine.accel),
        "-smp",
        str(machine.cpus),
        "-m",
        f"{machine.memory_mib}M",
        "-kernel",
        machine.kernel,
        "-initrd",
        machine.initrd,
        "-append",
        machine.cmdline,
        # Disks in command-line order take consecutive PCI slots: root.qcow2 is /dev/vda,
        # disk1.qcow2 /dev/vdb, ... (cache=unsafe: a lab VM's disks are thrown away).
        "-drive",
        f"file={ROOT_DISK},if=none,id=disk0,format=qcow2,cache=unsafe",
        "-device",
        "virtio-blk-pci,drive=disk0",
    ]
    for index in range(1, machine.disks + 1):
        argv += [
            "-drive",
            f"file={disk_file(index)},if=none,id=disk{index},format=qcow2,cache=unsafe",
            "-device",
            f"virtio-blk-pci,drive=disk{index},serial={disk_serial(index)}",
        ]
    argv += [
        "-netdev",
        netdev_arg(instance.ssh_port, instance.host_ports),
        "-device",
        "virtio-net-pci,netdev=net0",
        # The guest agent: how the lab installs keys and sets the clock without SSH.
        "-device",
        "virtio-serial-pci",
        "-chardev",
        f"socket,id=qga0,path={QGA_SOCKET},server=on,wait=off",
        "-device",
        "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
        "-object",
        "rng-random,id=rng0,filename=/dev/urandom",
        "-device",
        "virtio-rng-pci,rng=rng0",
        # A new generation id on every resume makes the guest kernel reseed its RNG.
        "-device",
        "vmgenid,guid=auto",
        "-chardev",
        f"file,id=console0,path={CONSOLE_LOG},append=on",
        "-serial",
        "chardev:console0",
        "-qmp",
        f"unix:{QMP_SOCKET},server=on,wait=off",
        "-pidfile",
        PIDFILE,
    ]
    if instance.incoming:
        argv += ["-incoming", f"exec:cat {shlex.quote(instance.incoming)}"]
    return argv


def shape_key(machine: Machine, qemu_version: str) -> str:
    """Return a short hash of everything a memory snapshot depends on.

    That is the command line with the per-instance parts (name, SSH port, host ports,
    memory image) left out, the extra disks' size and QEMU's version: a snapshot only
    resumes in a QEMU with the same devices, memory and CPUs.
    """
    template = qemu_argv(machine, Instance(name=_PLACEHOLDER_NAME, ssh_port=_PLACEHOLDER_PORT))
    data = {"argv": template, "disk_size_mib": machine.disk_size_mib, "qemu": qemu_version.strip()}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def hostfwd_failed(stderr: str) -> bool:
    """Whether QEMU exited because it could not listen on the SSH port (taken in the meantime)."""
    text = stderr.lower()
    return "could not set up host forwarding rule" in text or "address already in use" in text


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_free_port(
    start: Callable[[int], T | None],
    pick: Callable[[], int] = free_loopback_port,
    attempts: int = 5,
) -> tuple[int, T]:
    """Call ``start(port)`` with fresh free ports until it returns a result (not None).

    A port found free can be taken by another process before QEMU binds it; ``start``
    returns None when that happened, and the next attempt uses another port.
    """
    tried: list[int] = []
    for _ in range(attempts):
        port = pick()
        if port in tried:
            continue
        tried.append(port)
        result = start(port)
        if result is not None:
            return port, result
    raise RuntimeError(f"could not start on a free port after trying {', '.join(map(str, tried))}")


def cmdline_matches(raw: bytes, argv: Sequence[str]) -> bool:
    """Whether ``/proc/PID/cmdline`` contents ``raw`` are exactly ``argv``."""
    if not raw:
        return False
    return raw.rstrip(b"\0").split(b"\0") == [os.fsencode(arg) for arg in argv]


def process_state(pid: int, argv: Sequence[str], cwd: Path, proc: Path = Path("/proc")) -> str:
    """Return ``running`` if ``pid`` is our QEMU (same command line, same working directory),
    ``gone`` if no such process runs (or only its zombie), or ``other`` if the pid now
    belongs to another process.
    """
    base = proc / str(pid)
    raw = b""
    try:
        raw = (base / "cmdline").read_bytes() if pid > 0 else b""
        same = cmdline_matches(raw, argv) and (base / "cwd").readlink().resolve() == cwd.resolve()
    except FileNotFoundError:
        return "gone"
    except OSError:
        same = False
    if same:
        return "running"
    return "gone" if not raw else "other"


HOST_KEY_ORDER: tuple[str, ...] = ("rsa", "ecdsa", "ed25519")


def render_hosts(hostname: str) -> str:
    """Return the guest's /etc/hosts: Debian's loopback lines and ``127.0.1.1 HOSTNAME``."""
    return (
        "127.0.0.1\tlocalhost\n"
        f"127.0.1.1\t{hostname}\n"
        "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
        "ff02::1\t\tip6-allnodes\n"
        "ff02::2\t\tip6-allrouters\n"
    )


@dataclass(frozen=True)
class PrepareFile:
    """One entry of the prepare payload: a path under /, its mode and owner, its bytes (None: a folder)."""

    path: str
    mode: int
    owner: str = "root"
    uid: int = 0
    data: bytes | None = None


def prepare_files(
    *,
    hostname: str,
    user: str,
    uid: int,
    authorized_key: str,
    host_keys: Mapping[str, bytes],
) -> list[PrepareFile]:
    """Return what ``up`` installs in a VM through the guest agent, in extraction order.

    The hostname and /etc/hosts, the lab key for ``user`` (who owns a group of the same
    name and id), and the VM's SSH host keys with the ed25519 private key last: the
    guest's sshd starts as soon as that one exists.
    """
    files = [
        PrepareFile("etc/hostname", 0o644, data=f"{hostname}\n".encode()),
        PrepareFile("etc/hosts", 0o644, data=render_hosts(hostname).encode()),
        PrepareFile(f"home/{user}/.ssh", 0o700, owner=user, uid=uid),
        PrepareFile(
            f"home/{user}/.ssh/authorized_keys",
            0o600,
            owner=user,
            uid=uid,
            data=(authorized_key.strip() + "\n").encode(),
        ),
    ]
    for key_type in HOST_KEY_ORDER:
        name = f"ssh_host_{key_type}_key"
        if name not in host_keys or f"{name}.pub" not in host_keys:
            raise ValueError(f"missing host key {name}")
        files.append(PrepareFile(f"etc/ssh/{name}.pub", 0o644, data=host_keys[f"{name}.pub"]))
    for key_type in HOST_KEY_ORDER:
        name = f"ssh_host_{key_type}_key"
        files.append(PrepareFile(f"etc/ssh/{name}", 0o600, data=host_keys[name]))
    return files


def prepare_payload(files: Sequence[PrepareFile], mtime: int) -> bytes:
    """Return the files as a tar that ``tar -x -C /`` run by root installs with these owners and modes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for item in files:
            if item.path.startswith("/") or ".." in item.path.split("/"):
                raise ValueError(f"bad path in the prepare payload: {item.path!r}")
            info = tarfile.TarInfo(item.path)
            info.mode = item.mode
            info.uid = info.gid = item.uid
            info.uname = info.gname = item.owner
            info.mtime = mtime
            if item.data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(item.data)
                archive.addfile(info, io.BytesIO(item.data))
    return buffer.getvalue()


# Compressed-kernel magics, in the order the kernel's own extract-vmlinux tries them.
_KERNEL_MAGICS: tuple[tuple[str, bytes], ...] = (
    ("gzip", b"\x1f\x8b\x08"),
    ("xz", b"\xfd7zXZ\x00"),
    ("zstd", b"\x28\xb5\x2f\xfd"),
    ("lz4", b"\x02\x21\x4c\x18"),
    ("bzip2", b"BZh"),
    ("lzma", b"\x5d\x00\x00"),
)


def kernel_payload(bzimage: bytes) -> tuple[str, bytes]:
    """Return (format, compressed bytes) of the vmlinux inside an x86 bzImage.

    The setup header says where the payload is (boot protocol 2.08+: ``payload_offset``
    and ``payload_length`` at 0x248, relative to the protected-mode code after the
    ``setup_sects`` sectors); its first bytes say how it is compressed.
    """
    if len(bzimage) < 0x250 or bzimage[0x202:0x206] != b"HdrS":
        raise ValueError("not a bzImage: no HdrS setup header")
    version = struct.unpack_from("<H", bzimage, 0x206)[0]
    if version < 0x0208:
        raise ValueError(f"boot protocol {version >> 8}.{version & 0xFF} has no payload fields")
    setup_sects = bzimage[0x1F1] or 4
    offset, length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = bzimage[start : start + length]
    if len(payload) != length or not length:
        raise ValueError("bzImage payload runs past the end of the file")
    for name, magic in _KERNEL_MAGICS:
        if payload.startswith(magic):
            return name, payload
    raise ValueError(f"unknown kernel compression (payload starts {payload[:6].hex()})")


def parse_qemu_version(text: str) -> str:
    """Return ``7.2.22`` from ``qemu-system-x86_64 --version`` output."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    words = first.split()
    if "version" in words and words.index("version") + 1 < len(words):
        return words[words.index("version") + 1]
    raise ValueError(f"cannot read QEMU's version from {first!r}")


def tail(lines: Iterable[str], count: int) -> list[str]:
    """Return the last ``count`` lines, without terminal colour codes (the console log has them)."""
    colour = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
    kept = list(lines)[-count:] if count > 0 else []
    return [colour.sub("", line.rstrip("\r")) for line in kept]
