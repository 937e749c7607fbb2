"""The pure QEMU parts of the lab: command lines, snapshot shapes, ports, process checks, payloads."""

from __future__ import annotations

import dataclasses
import io
import os
import struct
import tarfile
from pathlib import Path

import pytest

from lab import qemu

MACHINE = qemu.Machine(kernel="/img/vmlinux", initrd="/img/initrd.img", cmdline="root=/dev/vda rw")


def value_after(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_argv_boots_the_image_kernel_with_software_emulation() -> None:
    argv = qemu.qemu_argv(MACHINE, qemu.Instance("rampart-lab-abc123-h1", 40022))
    assert argv[0] == "qemu-system-x86_64"
    assert value_after(argv, "-name") == ["rampart-lab-abc123-h1"]
    assert value_after(argv, "-accel") == ["tcg,thread=multi,tb-size=64"]
    assert value_after(argv, "-cpu") == ["qemu64"]
    assert value_after(argv, "-kernel") == ["/img/vmlinux"]
    assert value_after(argv, "-initrd") == ["/img/initrd.img"]
    assert value_after(argv, "-append") == ["root=/dev/vda rw"]
    assert value_after(argv, "-m") == ["1024M"]
    assert value_after(argv, "-smp") == ["2"]
    assert "-incoming" not in argv
    assert "-daemonize" not in argv


def test_argv_names_files_relative_to_the_vm_folder() -> None:
    argv = qemu.qemu_argv(MACHINE, qemu.Instance("x", 40022))
    assert value_after(argv, "-qmp") == ["unix:qmp.sock,server=on,wait=off"]
    assert value_after(argv, "-pidfile") == ["qemu.pid"]
    assert "socket,id=qga0,path=qga.sock,server=on,wait=off" in value_after(argv, "-chardev")
    assert "file,id=console0,path=console.log,append=on" in value_after(argv, "-chardev")
    assert value_after(argv, "-drive")[0].startswith("file=root.qcow2,")


def test_ssh_is_forwarded_from_loopback_only_and_the_guest_is_fenced_in() -> None:
    argv = qemu.qemu_argv(MACHINE, qemu.Instance("x", 40022))
    assert value_after(argv, "-netdev") == ["user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22"]


def test_host_ports_become_guestfwd_rules_to_the_host_loopback() -> None:
    netdev = qemu.netdev_arg(40022, [5514, 8080])
    assert netdev.split(",")[2:] == [
        "restrict=on",
        "hostfwd=tcp:127.0.0.1:40022-:22",
        "guestfwd=tcp:10.0.2.100:5514-cmd:socat - TCP:127.0.0.1:5514",
        "guestfwd=tcp:10.0.2.100:8080-cmd:socat - TCP:127.0.0.1:8080",
    ]


def test_extra_disks_follow_the_root_disk_with_serials() -> None:
    argv = qemu.qemu_argv(dataclasses.replace(MACHINE, disks=2), qemu.Instance("x", 40022))
    assert value_after(argv, "-drive") == [
        "file=root.qcow2,if=none,id=disk0,format=qcow2,cache=unsafe",
        "file=disk1.qcow2,if=none,id=disk1,format=qcow2,cache=unsafe",
        "file=disk2.qcow2,if=none,id=disk2,format=qcow2,cache=unsafe",
    ]
    devices = [d for d in value_after(argv, "-device") if d.startswith("virtio-blk-pci")]
    assert devices == [
        "virtio-blk-pci,drive=disk0",
        "virtio-blk-pci,drive=disk1,serial=rampart-disk1",
        "virtio-blk-pci,drive=disk2,serial=rampart-disk2",
    ]


def test_incoming_resumes_from_a_quoted_memory_image() -> None:
    argv = qemu.qemu_argv(MACHINE, qemu.Instance("x", 40022, incoming="/a b/memory.state"))
    assert argv[-2:] == ["-incoming", "exec:cat '/a b/memory.state'"]


def test_kvm_accelerator_and_unknown_ones() -> None:
    argv = qemu.qemu_argv(dataclasses.replace(MACHINE, accel="kvm"), qemu.Instance("x", 1))
    assert value_after(argv, "-accel") == ["kvm"]
    assert value_after(argv, "-cpu") == ["host"]
    with pytest.raises(ValueError, match="unknown accelerator"):
        qemu.accel_args("hvf")


def test_shape_key_ignores_what_differs_between_clones() -> None:
    key = qemu.shape_key(MACHINE, "7.2.22")
    assert len(key) == 16
    # Name, ports, host ports and the memory image are per instance, not part of the shape.
    assert qemu.shape_key(MACHINE, "7.2.22\n") == key


@pytest.mark.parametrize(
    "change",
    [
        {"memory_mib": 2048},
        {"cpus": 1},
        {"disks": 1},
        {"disk_size_mib": 512},
        {"kernel": "/other/vmlinux"},
        {"cmdline": "root=/dev/vda ro"},
        {"accel": "kvm"},
    ],
)
def test_shape_key_changes_with_the_machine(change: dict[str, object]) -> None:
    changed = dataclasses.replace(MACHINE, **change)  # type: ignore[arg-type]
    assert qemu.shape_key(changed, "7.2.22") != qemu.shape_key(MACHINE, "7.2.22")


def test_shape_key_changes_with_the_qemu_version() -> None:
    assert qemu.shape_key(MACHINE, "8.2.0") != qemu.shape_key(MACHINE, "7.2.22")


@pytest.mark.parametrize(
    ("stderr", "taken"),
    [
        ("qemu-system-x86_64: -netdev user,...: could not set up host forwarding rule 'tcp:...'", True),
        ("Could not set up host forwarding rule 'tcp:127.0.0.1:40022-:22'", True),
        ("qemu-system-x86_64: -drive file=root.qcow2: Could not open 'root.qcow2'", False),
        ("", False),
    ],
)
def test_hostfwd_failed(stderr: str, taken: bool) -> None:
    assert qemu.hostfwd_failed(stderr) is taken


def test_free_loopback_port_is_bindable() -> None:
    import socket

    port = qemu.free_loopback_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_with_free_port_retries_when_the_port_was_taken() -> None:
    picks = iter([40001, 40001, 40002, 40003])
    started: list[int] = []

    def start(port: int) -> str | None:
        started.append(port)
        return "qemu" if port == 40003 else None

    assert qemu.with_free_port(start, pick=lambda: next(picks)) == (40003, "qemu")
    assert started == [40001, 40002, 40003]  # a port seen once is not tried again


def test_with_free_port_gives_up() -> None:
    ports = iter(range(40001, 40100))
    with pytest.raises(RuntimeError, match="40001, 40002, 40003"):
        qemu.with_free_port(lambda port: None, pick=lambda: next(ports), attempts=3)


ARGV = ["qemu-system-x86_64", "-name", "rampart-lab-abc123-h1", "-append", "root=/dev/vda rw"]


def test_cmdline_matches_exactly() -> None:
    raw = b"\0".join(arg.encode() for arg in ARGV) + b"\0"
    assert qemu.cmdline_matches(raw, ARGV)
    assert not qemu.cmdline_matches(raw, [*ARGV, "-S"])
    assert not qemu.cmdline_matches(raw.replace(b"h1", b"h2"), ARGV)
    assert not qemu.cmdline_matches(b"", ARGV)


def fake_process(proc: Path, pid: int, argv: list[str], cwd: Path) -> None:
    base = proc / str(pid)
    base.mkdir(parents=True)
    (base / "cmdline").write_bytes(b"\0".join(os.fsencode(a) for a in argv) + b"\0")
    (base / "cwd").symlink_to(cwd)


def test_process_state_running_only_for_our_command_line_and_folder(tmp_path: Path) -> None:
    proc, vm_dir, elsewhere = tmp_path / "proc", tmp_path / "vm", tmp_path / "other"
    vm_dir.mkdir()
    elsewhere.mkdir()
    fake_process(proc, 100, ARGV, vm_dir)
    fake_process(proc, 101, ["sleep", "1000"], vm_dir)
    fake_process(proc, 102, ARGV, elsewhere)
    assert qemu.process_state(100, ARGV, vm_dir, proc) == "running"
    assert qemu.process_state(101, ARGV, vm_dir, proc) == "other"  # the pid was reused
    assert qemu.process_state(102, ARGV, vm_dir, proc) == "other"  # another checkout's VM
    assert qemu.process_state(103, ARGV, vm_dir, proc) == "gone"
    assert qemu.process_state(0, ARGV, vm_dir, proc) == "gone"


def test_process_state_treats_a_zombie_as_gone(tmp_path: Path) -> None:
    proc, vm_dir = tmp_path / "proc", tmp_path / "vm"
    vm_dir.mkdir()
    (proc / "100").mkdir(parents=True)
    (proc / "100" / "cmdline").write_bytes(b"")
    assert qemu.process_state(100, ARGV, vm_dir, proc) == "gone"


def test_process_state_of_this_very_process() -> None:
    argv = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    mine = [os.fsdecode(arg) for arg in argv]
    assert qemu.process_state(os.getpid(), mine, Path.cwd()) == "running"
    assert qemu.process_state(os.getpid(), [*mine, "x"], Path.cwd()) == "other"


KEYS = {
    f"ssh_host_{t}_key{suffix}": f"{t}{suffix}".encode()
    for t in ("rsa", "ecdsa", "ed25519")
    for suffix in ("", ".pub")
}


def payload_members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getmembers()


def test_prepare_files_install_the_ed25519_private_key_last() -> None:
    files = qemu.prepare_files(
        hostname="h1", user="rampart", uid=1000, authorized_key="ssh-ed25519 AAAA lab\n", host_keys=KEYS
    )
    paths = [f.path for f in files]
    assert paths[:4] == [
        "etc/hostname",
        "etc/hosts",
        "home/rampart/.ssh",
        "home/rampart/.ssh/authorized_keys",
    ]
    assert paths[-1] == "etc/ssh/ssh_host_ed25519_key"
    assert all(
        paths.index(f"{p}.pub") < paths.index(p) for p in paths if p.startswith("etc/ssh/") and "." not in p
    )


def test_prepare_payload_carries_owners_and_modes() -> None:
    files = qemu.prepare_files(
        hostname="h1", user="rampart", uid=1000, authorized_key="ssh-ed25519 AAAA lab", host_keys=KEYS
    )
    members = {m.name: m for m in payload_members(qemu.prepare_payload(files, mtime=1700000000))}
    home = members["home/rampart/.ssh"]
    assert (home.isdir(), home.mode, home.uname, home.uid, home.gid) == (True, 0o700, "rampart", 1000, 1000)
    key = members["home/rampart/.ssh/authorized_keys"]
    assert (key.mode, key.uname, key.mtime) == (0o600, "rampart", 1700000000)
    private = members["etc/ssh/ssh_host_rsa_key"]
    assert (private.mode, private.uname, private.uid) == (0o600, "root", 0)
    assert members["etc/ssh/ssh_host_rsa_key.pub"].mode == 0o644


def test_prepare_payload_contents() -> None:
    files = qemu.prepare_files(
        hostname="web-1", user="rampart", uid=1000, authorized_key="ssh-ed25519 AAAA lab", host_keys=KEYS
    )
    with tarfile.open(fileobj=io.BytesIO(qemu.prepare_payload(files, 0))) as archive:

        def read(name: str) -> bytes:
            handle = archive.extractfile(name)
            assert handle is not None
            return handle.read()

        assert read("etc/hostname") == b"web-1\n"
        assert "127.0.1.1\tweb-1\n" in read("etc/hosts").decode()
        assert read("home/rampart/.ssh/authorized_keys") == b"ssh-ed25519 AAAA lab\n"
        assert read("etc/ssh/ssh_host_ed25519_key") == b"ed25519"


def test_prepare_files_need_every_host_key() -> None:
    with pytest.raises(ValueError, match="ssh_host_ecdsa_key"):
        qemu.prepare_files(
            hostname="h",
            user="u",
            uid=1000,
            authorized_key="k",
            host_keys={k: v for k, v in KEYS.items() if "ecdsa" not in k},
        )


@pytest.mark.parametrize("path", ["/etc/passwd", "etc/../../x"])
def test_prepare_payload_rejects_paths_outside_the_root(path: str) -> None:
    with pytest.raises(ValueError, match="bad path"):
        qemu.prepare_payload([qemu.PrepareFile(path, 0o644, data=b"")], 0)


def bzimage(payload: bytes, setup_sects: int = 3, version: int = 0x020F) -> bytes:
    header = bytearray(512 * (setup_sects + 1))
    header[0x1F1] = setup_sects
    header[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", header, 0x206, version)
    offset = 0x30
    struct.pack_into("<II", header, 0x248, offset, len(payload))
    return bytes(header) + b"\0" * offset + payload + b"trailing setup data"


@pytest.mark.parametrize(
    ("payload", "fmt"),
    [
        (b"\xfd7zXZ\x00compressed", "xz"),
        (b"\x28\xb5\x2f\xfdcompressed", "zstd"),
        (b"\x1f\x8b\x08compressed", "gzip"),
    ],
)
def test_kernel_payload_is_found_from_the_setup_header(payload: bytes, fmt: str) -> None:
    assert qemu.kernel_payload(bzimage(payload)) == (fmt, payload)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\x7fELF" + b"\0" * 1000, "no HdrS"),
        (bzimage(b"\xfd7zXZ\x00x", version=0x0206), "no payload fields"),
        (bzimage(b"\x00\x00unknown"), "unknown kernel compression"),
        (bzimage(b"\xfd7zXZ\x00x")[:-40], "past the end"),
    ],
)
def test_kernel_payload_rejects(data: bytes, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        qemu.kernel_payload(data)


def test_parse_qemu_version() -> None:
    text = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022\n"
    assert qemu.parse_qemu_version(text) == "7.2.22"
    with pytest.raises(ValueError, match="cannot read"):
        qemu.parse_qemu_version("garbage")


def test_tail_strips_colours_and_carriage_returns() -> None:
    lines = ["one", "\x1b[0;32m  OK  \x1b[0m] Started ssh.service\r", "three"]
    assert qemu.tail(lines, 2) == ["  OK  ] Started ssh.service", "three"]
    assert qemu.tail(lines, 0) == []
