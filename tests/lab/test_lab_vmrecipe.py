"""The VM image recipe hash and cache folder names; kernel unpacking."""

from __future__ import annotations

import dataclasses
import gzip
import json
import lzma
from pathlib import Path

import pytest

from lab import vmimages
from lab import vmrecipe as vr

FILES = {"vmimage/fstab": b"/dev/vda / ext4 defaults 0 0\n", "image/sudoers-rampart-lab": b"%sudo ALL\n"}


def test_hash_is_stable_and_short() -> None:
    recipe = vr.vm_recipe_for("bookworm", environ={})
    assert vr.vm_recipe_hash(recipe, FILES) == vr.vm_recipe_hash(recipe, dict(reversed(FILES.items())))
    assert len(vr.vm_recipe_hash(recipe, FILES)) == 16


@pytest.mark.parametrize(
    "change",
    [
        {"release": "trixie"},
        {"mirror": "http://mirror.invalid/debian"},
        {"packages": (*vr.VM_PACKAGES, "aide")},
        {"initramfs_modules": ("virtio_pci",)},
        {"masked_units": vr.VM_MASKED_UNITS[1:]},
        {"kernel_cmdline": "root=/dev/vda ro"},
        {"root_size": "8G"},
        {"admin_uid": 1001},
        {"version": vr.VM_RECIPE_VERSION + 1},
    ],
)
def test_hash_changes_with_any_constant(change: dict[str, object]) -> None:
    recipe = vr.vm_recipe_for("bookworm", environ={})
    changed = dataclasses.replace(recipe, **change)  # type: ignore[arg-type]
    assert vr.vm_recipe_hash(changed, FILES) != vr.vm_recipe_hash(recipe, FILES)


def test_hash_changes_with_any_file() -> None:
    recipe = vr.vm_recipe_for("bookworm", environ={})
    edited = {**FILES, "vmimage/fstab": b"/dev/vda / ext4 defaults 0 1\n"}
    assert vr.vm_recipe_hash(recipe, edited) != vr.vm_recipe_hash(recipe, FILES)


def test_vm_and_container_recipes_share_the_mirror_settings() -> None:
    env = {"RAMPART_LAB_MIRROR": "http://mirror.invalid/debian"}
    assert vr.vm_recipe_for("trixie", environ=env).mirror == "http://mirror.invalid/debian"
    with pytest.raises(ValueError, match="unknown release"):
        vr.vm_recipe_for("buster", environ={})


def test_every_recipe_file_exists_and_is_read() -> None:
    files = vr.read_vm_files()
    assert sorted(files) == sorted(vr.VM_FILES)
    assert all(files.values())


def test_the_guest_packages_cover_what_the_tests_need() -> None:
    for package in ("auditd", "mdadm", "rsyslog-gnutls", "nftables", "python3-apt", "qemu-guest-agent"):
        assert package in vr.VM_PACKAGES


def test_image_dir_names_round_trip() -> None:
    name = vr.image_dir_name("trixie", "0123456789abcdef")
    assert name == "trixie-0123456789abcdef"
    assert vr.parse_image_dir_name(name) == ("trixie", "0123456789abcdef")


@pytest.mark.parametrize(
    "name",
    ["trixie-0123", "buster-0123456789abcdef", "trixie-0123456789abcdeg", ".bookworm-x.tmp", "snapshots"],
)
def test_other_folder_names_are_not_images(name: str) -> None:
    assert vr.parse_image_dir_name(name) is None


ELF = b"\x7fELF" + bytes(range(256)) * 8


@pytest.mark.parametrize(
    ("fmt", "payload"),
    [
        ("xz", lzma.compress(ELF, format=lzma.FORMAT_XZ) + b"\x00\x10\x00\x00"),
        ("gzip", gzip.compress(ELF) + b"\x00\x10\x00\x00"),
    ],
)
def test_decompress_ignores_the_appended_size(fmt: str, payload: bytes) -> None:
    assert vmimages.decompress(fmt, payload) == ELF


def test_decompress_refuses_unknown_formats() -> None:
    with pytest.raises(ValueError, match="cannot unpack a lz4 kernel"):
        vmimages.decompress("lz4", b"")


def test_load_image_needs_image_json(tmp_path: Path) -> None:
    assert vmimages.load_image(tmp_path) is None
    meta = {
        "release": "bookworm",
        "recipe_hash": "0123456789abcdef",
        "kernel": "vmlinux",
        "initrd": "initrd.img",
        "cmdline": "root=/dev/vda rw",
    }
    (tmp_path / "image.json").write_text(json.dumps(meta))
    image = vmimages.load_image(tmp_path)
    assert image is not None
    assert (image.kernel, image.root_disk, image.cmdline) == (
        tmp_path / "vmlinux",
        tmp_path / "root.qcow2",
        "root=/dev/vda rw",
    )


def test_prune_snapshots_keeps_recent_and_used_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    run = tmp_path / "run"
    monkeypatch.setattr(vmimages, "RUN_DIR", run)
    image = tmp_path / "images" / "trixie-0123456789abcdef"
    old = time.time() - 30 * 86400
    for key in ("recent", "stale", "stale-used"):
        meta = image / "snapshots" / key / "snapshot.json"
        meta.parent.mkdir(parents=True)
        meta.write_text("{}")
        if key.startswith("stale"):
            os.utime(meta, (old, old))
    vm = run / "lab" / "h1"
    vm.mkdir(parents=True)
    (vm / "vm.json").write_text(json.dumps({"snapshot": str(image / "snapshots" / "stale-used")}))
    assert vmimages.prune_snapshots(image) == ["stale"]
    assert sorted(p.name for p in (image / "snapshots").iterdir()) == ["recent", "stale-used"]
