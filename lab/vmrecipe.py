"""The VM base image recipe: every constant that shapes a VM image, and its hash.

VM images are what containers cannot be: a real kernel for audit rules, md RAID and
reboots. They are built offline (debootstrap, a chroot, ``mkfs.ext4 -d``, qcow2) by
``lab/vmimages.py`` and cached under ``.lab/vm/images/<release>-<hash>/``. Changing
anything here, or any file the recipe installs (``VM_FILES``), changes the hash, so
``python -m lab images --kind vm`` rebuilds. Bump ``VM_RECIPE_VERSION`` when the build
steps in ``lab/vmimages.py`` change in a way these constants do not capture.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from lab import recipe as r

VM_RECIPE_VERSION = 2

# Every package a test may need: the guest has no route to a mirror (user-mode networking
# with restrict=on), so nothing can be installed later. linux-image-amd64 is installed in a
# second step, after the initramfs configuration is in place (see lab/vmimages.py).
VM_PACKAGES: tuple[str, ...] = (
    "audispd-plugins",
    "auditd",
    "ca-certificates",
    "dbus",
    "e2fsprogs",
    "initramfs-tools",
    "iproute2",
    "kmod",
    "less",
    "mdadm",
    "netbase",
    "nftables",
    "openssh-client",
    "openssh-server",
    "procps",
    "python3",
    "python3-apt",
    "qemu-guest-agent",
    "rsyslog",
    "rsyslog-gnutls",
    "sudo",
    "systemd",
    "systemd-sysv",
    "udev",
)
KERNEL_PACKAGES: tuple[str, ...] = ("linux-image-amd64",)

# Modules the initramfs carries (MODULES=list): enough to mount /dev/vda and configure the
# network (see KERNEL_CMDLINE). mdadm's own initramfs hook adds the md modules and mdadm.
INITRAMFS_MODULES: tuple[str, ...] = ("virtio_pci", "virtio_blk", "virtio_net", "ext4")

# Units with nothing to do in a lab VM, or that would change it behind a test's back, or
# that only burn emulated CPU at boot. udev stays: md assembly and virtio disks need it.
VM_MASKED_UNITS: tuple[str, ...] = (
    "apt-daily-upgrade.service",
    "apt-daily-upgrade.timer",
    "apt-daily.service",
    "apt-daily.timer",
    "e2scrub_all.service",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.service",
    "fstrim.timer",
    "getty-static.service",
    "getty@.service",
    "systemd-networkd-wait-online.service",
)
VM_ENABLED_UNITS: tuple[str, ...] = ("rampart-lab-vm-host-keys.service",)

# The kernel command line. The kernel and initrd are booted directly (no boot loader), so
# settings in /etc/default/grub are not exercised. The initramfs configures eth0 with
# QEMU user networking's fixed addresses (`ip=`): no network manager runs in the guest;
# systemd-networkd took 30+ s of an emulated boot. 10.0.2.2 is QEMU's gateway (closed:
# the lab starts VMs with restrict=on); host ports a VM asks for are at 10.0.2.100.
GUEST_ADDRESS = "10.0.2.15"
GATEWAY_ADDRESS = "10.0.2.2"
KERNEL_CMDLINE = (
    "root=/dev/vda rw console=ttyS0 net.ifnames=0 "
    f"ip={GUEST_ADDRESS}::{GATEWAY_ADDRESS}:255.255.255.0::eth0:off"
)

# Size of the root filesystem the guest sees (sparse: only what is written takes space).
ROOT_SIZE = "4G"

# Files the recipe installs (path relative to lab/ -> destination in the image, mode).
LAB_DIR = Path(__file__).resolve().parent
VM_FILES: dict[str, tuple[str, int]] = {
    "image/sudoers-rampart-lab": ("/etc/sudoers.d/rampart-lab", 0o440),
    "image/debian.sources": ("/etc/apt/sources.list.d/debian.sources", 0o644),
    "image/apt-no-translations.conf": ("/etc/apt/apt.conf.d/90rampart-lab-no-translations", 0o644),
    "vmimage/rampart-lab-vm-host-keys.service": (
        "/etc/systemd/system/rampart-lab-vm-host-keys.service",
        0o644,
    ),
    "vmimage/fstab": ("/etc/fstab", 0o644),
    "vmimage/hosts": ("/etc/hosts", 0o644),
    "vmimage/initramfs-rampart-lab.conf": ("/etc/initramfs-tools/conf.d/rampart-lab.conf", 0o644),
    "vmimage/initramfs-rampart-lab-network": (
        "/etc/initramfs-tools/scripts/init-premount/rampart-lab-network",
        0o755,
    ),
}


@dataclass(frozen=True)
class VmRecipe:
    """Everything that goes into one release's VM image."""

    release: str
    mirror: str
    security_mirror: str
    version: int = VM_RECIPE_VERSION
    variant: str = r.VARIANT
    packages: tuple[str, ...] = VM_PACKAGES
    kernel_packages: tuple[str, ...] = KERNEL_PACKAGES
    initramfs_modules: tuple[str, ...] = INITRAMFS_MODULES
    masked_units: tuple[str, ...] = VM_MASKED_UNITS
    enabled_units: tuple[str, ...] = VM_ENABLED_UNITS
    kernel_cmdline: str = KERNEL_CMDLINE
    root_size: str = ROOT_SIZE
    admin_user: str = r.ADMIN_USER
    admin_uid: int = r.ADMIN_UID
    admin_shell: str = r.ADMIN_SHELL
    admin_groups: tuple[str, ...] = r.ADMIN_GROUPS


def vm_recipe_for(release: str, environ: Mapping[str, str] | None = None) -> VmRecipe:
    """Return the VM recipe for ``release`` (the same mirror settings as the container images)."""
    base = r.recipe_for(release, environ if environ is not None else os.environ)
    return VmRecipe(release=release, mirror=base.mirror, security_mirror=base.security_mirror)


def vm_recipe_hash(recipe: VmRecipe, files: Mapping[str, bytes]) -> str:
    """Hash a VM recipe and the files it installs (name -> bytes) into a short hex digest."""
    digest = hashlib.sha256(b"rampart-lab-vm\0")
    digest.update(json.dumps(asdict(recipe), sort_keys=True).encode())
    for name in sorted(files):
        digest.update(b"\0file\0" + name.encode() + b"\0")
        digest.update(hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:16]


def read_vm_files(lab_dir: Path = LAB_DIR) -> dict[str, bytes]:
    """Read the files of ``VM_FILES`` (name relative to lab/ -> contents)."""
    return {name: (lab_dir / name).read_bytes() for name in sorted(VM_FILES)}


def image_dir_name(release: str, recipe_hash: str) -> str:
    """Return the cache folder name of a VM image, e.g. ``bookworm-0123456789abcdef``."""
    return f"{release}-{recipe_hash}"


def parse_image_dir_name(name: str) -> tuple[str, str] | None:
    """Return (release, hash) from a cache folder name, or None for anything else."""
    release, sep, digest = name.rpartition("-")
    if not sep or release not in r.RELEASES or len(digest) != 16:
        return None
    try:
        int(digest, 16)
    except ValueError:
        return None
    return release, digest
