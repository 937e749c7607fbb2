"""Build the lab's VM base images offline: debootstrap, a chroot, ``mkfs.ext4 -d``, qcow2.

An image is a folder ``.lab/vm/images/<release>-<recipe hash>/`` holding ``root.qcow2``
(the root filesystem, no partition table), the kernel (``vmlinux``, uncompressed so QEMU
boots it through its PVH entry; ``vmlinuz`` if it cannot be unpacked) and ``initrd.img``,
and ``image.json``. It is built in a temporary folder and renamed into place, so a
folder with ``image.json`` is complete.
"""

from __future__ import annotations

import json
import lzma
import shutil
import subprocess
import tempfile
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lab import qemu
from lab import recipe as r
from lab import vmrecipe as vr
from lab.images import (
    BUILD_PARENT,
    CLEAN_GLOBS,
    LOCK_DIR,
    LOG_DIR,
    BuildError,
    add_admin_user,
    run_in_chroot,
    run_logged,
    unmount_below,
)
from lab.util import STATE_DIR, file_lock, say

VM_DIR = STATE_DIR / "vm"
IMAGES_DIR = VM_DIR / "images"
RUN_DIR = VM_DIR / "run"
IMAGE_JSON = "image.json"
SNAPSHOT_MAX_AGE_DAYS = 7.0


@dataclass(frozen=True)
class VmImage:
    """A built VM image: where its files are and what it was built from."""

    release: str
    recipe_hash: str
    directory: Path
    kernel: Path
    initrd: Path
    cmdline: str

    @property
    def root_disk(self) -> Path:
        """The base root disk every VM's disk is an overlay on."""
        return self.directory / qemu.ROOT_DISK


@dataclass(frozen=True)
class VmImageState:
    """A release's VM image: the recipe hash it should have and whether it is built."""

    release: str
    want: str
    image: VmImage | None
    others: tuple[str, ...]

    @property
    def current(self) -> bool:
        """Whether the image for the current recipe is built."""
        return self.image is not None


@dataclass(frozen=True)
class VmBuildResult:
    """What ``ensure_vm_images`` did for one release."""

    release: str
    directory: Path
    recipe_hash: str
    built: bool
    seconds: float
    size: int


def current_hash(release: str) -> str:
    """Return the recipe hash the VM image of ``release`` should have now."""
    return vr.vm_recipe_hash(vr.vm_recipe_for(release), vr.read_vm_files())


def load_image(directory: Path) -> VmImage | None:
    """Return the image in ``directory`` if it is complete (has image.json), else None."""
    meta_path = directory / IMAGE_JSON
    if not meta_path.is_file():
        return None
    meta = json.loads(meta_path.read_text())
    return VmImage(
        release=meta["release"],
        recipe_hash=meta["recipe_hash"],
        directory=directory,
        kernel=directory / meta["kernel"],
        initrd=directory / meta["initrd"],
        cmdline=meta["cmdline"],
    )


def vm_image_state(release: str) -> VmImageState:
    """Compare the cached VM images of ``release`` with the current recipe."""
    want = current_hash(release)
    image = load_image(IMAGES_DIR / vr.image_dir_name(release, want))
    others: list[str] = []
    if IMAGES_DIR.is_dir():
        for path in sorted(IMAGES_DIR.iterdir()):
            parsed = vr.parse_image_dir_name(path.name)
            if parsed and parsed[0] == release and parsed[1] != want and (path / IMAGE_JSON).exists():
                others.append(parsed[1])
    return VmImageState(release=release, want=want, image=image, others=tuple(others))


def require_image(release: str) -> VmImage:
    """Return the current VM image of ``release`` or raise with what to run."""
    state = vm_image_state(release)
    if state.image is None:
        raise RuntimeError(f"no VM image for {release}: run `python -m lab images --kind vm`")
    return state.image


def ensure_vm_images(releases: Sequence[str], *, force: bool = False, jobs: int = 2) -> list[VmBuildResult]:
    """Build every release whose VM image is missing (all with ``force``), ``jobs`` at a time."""
    unique = list(dict.fromkeys(releases))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda release: _ensure_one(release, force=force), unique))


def _dir_size(directory: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in directory.rglob("*") if p.is_file())


def _ensure_one(release: str, *, force: bool) -> VmBuildResult:
    with file_lock(LOCK_DIR / f"vm-image-{release}.lock"):
        state = vm_image_state(release)
        target = IMAGES_DIR / vr.image_dir_name(release, state.want)
        if state.image is not None and not force:
            for digest in state.others:  # older images whose VMs have gone since
                _remove_old_image(IMAGES_DIR / vr.image_dir_name(release, digest), quiet=True)
            prune_snapshots(target)
            return VmBuildResult(
                release, target, state.want, built=False, seconds=0.0, size=_dir_size(target)
            )
        if state.image is not None and target.resolve() in images_in_use():
            users = ", ".join(sorted(vm_users(target)))
            raise BuildError(
                f"{release}: not rebuilding {target.name}: lab VMs still use it ({users}); "
                "run `python -m lab down --name LAB` for them first"
            )
        start = time.monotonic()
        why = "forced" if state.image else ("recipe changed" if state.others else "missing")
        say(f"{release}: building the VM image ({why}, recipe {state.want}), log: {_log_path(release)}")
        build_vm_image(release, state.want, target)
        seconds = time.monotonic() - start
        size = _dir_size(target)
        say(f"{release}: built the VM image in {seconds:.1f} s ({size / 1e6:.0f} MB on disk)")
        for digest in state.others:
            _remove_old_image(IMAGES_DIR / vr.image_dir_name(release, digest))
        return VmBuildResult(release, target, state.want, built=True, seconds=seconds, size=size)


def prune_snapshots(image_dir: Path, max_age_days: float = SNAPSHOT_MAX_AGE_DAYS) -> list[str]:
    """Remove the image's memory snapshots unused for ``max_age_days`` that no VM sits on.

    A snapshot is made per VM shape (memory, CPUs, disks, QEMU version); shapes nobody
    asks for any more would otherwise stay until the image is replaced. Returns their keys.
    """
    in_use: set[Path] = set()
    for record in RUN_DIR.glob("*/*/vm.json"):
        try:
            snapshot = json.loads(record.read_text()).get("snapshot", "")
        except (OSError, ValueError):
            continue
        if snapshot:
            in_use.add(Path(snapshot).resolve())
    removed: list[str] = []
    cutoff = time.time() - max_age_days * 86400
    for meta in sorted((image_dir / "snapshots").glob("*/snapshot.json")):
        folder = meta.parent
        if folder.resolve() not in in_use and meta.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def _vm_images() -> dict[Path, Path]:
    """Return each VM folder of this checkout (running or not) with the image folder it uses."""
    found: dict[Path, Path] = {}
    for record in RUN_DIR.glob("*/*/vm.json"):
        try:
            found[record.parent] = Path(json.loads(record.read_text())["image"]).resolve()
        except (OSError, ValueError, KeyError):
            continue
    return found


def images_in_use() -> set[Path]:
    """Return the image folders that a VM of this checkout (running or not) still uses."""
    return set(_vm_images().values())


def vm_users(image_dir: Path) -> list[str]:
    """Return ``lab/host`` of every VM that uses ``image_dir``."""
    wanted = image_dir.resolve()
    return [f"{vm.parent.name}/{vm.name}" for vm, image in _vm_images().items() if image == wanted]


def _remove_old_image(directory: Path, *, quiet: bool = False) -> None:
    if directory.resolve() in images_in_use():
        if not quiet:
            say(f"kept the previous VM image {directory.name} (a lab VM still uses it)")
        return
    shutil.rmtree(directory, ignore_errors=True)


def _log_path(release: str) -> Path:
    return LOG_DIR / f"vm-image-{release}.log"


def build_vm_image(release: str, recipe_hash: str, target: Path) -> None:
    """Build the VM image of ``release`` into ``target`` (replacing it)."""
    recipe = vr.vm_recipe_for(release)
    files = vr.read_vm_files()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    log = _log_path(release)
    log.write_text(f"# rampart lab VM image build: {release}, recipe {recipe_hash}\n")
    workdir = Path(tempfile.mkdtemp(prefix=f"rampart-lab-vm-{release}-", dir=BUILD_PARENT))
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=IMAGES_DIR))
    root = workdir / "root"
    try:
        steps: dict[str, float] = {}
        mark = time.monotonic()

        def step(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            steps[name] = round(now - mark, 1)
            mark = now
            with log.open("a") as out:
                out.write(f"\n# step {name}: {steps[name]} s\n")

        run_logged(
            [
                "debootstrap",
                f"--variant={recipe.variant}",
                "--components=main",
                f"--include={','.join(recipe.packages)}",
                release,
                str(root),
                recipe.mirror,
            ],
            log,
        )
        step("debootstrap")
        customise_vm(root, recipe, files, log)
        step("customise")
        kernel_name, version = extract_kernel(root, staging, log)
        step("kernel")
        make_root_disk(root, recipe, workdir, staging / qemu.ROOT_DISK, log)
        step("disk")
        meta = {
            "release": release,
            "recipe_hash": recipe_hash,
            "kernel": kernel_name,
            "kernel_version": version,
            "initrd": "initrd.img",
            "cmdline": recipe.kernel_cmdline,
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "steps_seconds": steps,
        }
        (staging / IMAGE_JSON).write_text(json.dumps(meta, indent=2) + "\n")
        staging.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        lines = log.read_text(errors="replace").splitlines()[-30:]
        message = f"{release}: VM image build failed: {exc}\n--- last lines of {log} ---\n" + "\n".join(lines)
        raise BuildError(message) from exc
    finally:
        unmount_below(workdir)
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)


def customise_vm(root: Path, recipe: vr.VmRecipe, files: dict[str, bytes], log: Path) -> None:
    """Turn a debootstrapped tree into a lab VM image (see lab/README.md for what and why)."""
    etc = root / "etc"

    # Files from lab/image/ and lab/vmimage/, first: the initramfs settings must be in
    # place before the kernel package builds the initramfs.
    for name, (dest, mode) in vr.VM_FILES.items():
        content = files[name]
        if name == "image/debian.sources":
            content = r.render_sources(content.decode(), recipe).encode()
        target = root / dest.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.write_bytes(content)
        target.chmod(mode)
    modules = etc / "initramfs-tools" / "modules"
    with modules.open("a") as out:
        out.write("# Added by the rampart lab VM image recipe (lab/vmrecipe.py).\n")
        out.write("".join(f"{module}\n" for module in recipe.initramfs_modules))
    (etc / "apt" / "sources.list").unlink(missing_ok=True)

    # The kernel, from the image's own sources (release, -updates, -security).
    resolv = etc / "resolv.conf"
    resolv.unlink(missing_ok=True)
    shutil.copyfile("/etc/resolv.conf", resolv)
    run_in_chroot(root, log, "apt-get", "update", "-q")
    run_in_chroot(
        root, log, "apt-get", "install", "-y", "-q", "--no-install-recommends", *recipe.kernel_packages
    )
    run_in_chroot(root, log, "apt-get", "clean")

    add_admin_user(
        root,
        log,
        recipe.admin_user,
        uid=recipe.admin_uid,
        shell=recipe.admin_shell,
        groups=recipe.admin_groups,
    )
    run_in_chroot(root, log, "visudo", "--check", "--file", "/etc/sudoers.d/rampart-lab")

    run_in_chroot(root, log, "systemctl", "mask", *recipe.masked_units)
    run_in_chroot(root, log, "systemctl", "enable", *recipe.enabled_units)
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()

    # Per-VM identity comes at first boot (machine-id) and from `up` (hostname, keys).
    for name in ("machine-id", "hostname", "resolv.conf"):
        path = etc / name
        path.unlink(missing_ok=True)
        path.write_text("")
        path.chmod(0o444 if name == "machine-id" else 0o644)
    dbus_id = root / "var" / "lib" / "dbus" / "machine-id"
    if dbus_id.exists() and not dbus_id.is_symlink():
        dbus_id.unlink()
    for pattern in CLEAN_GLOBS:
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def extract_kernel(root: Path, dest: Path, log: Path) -> tuple[str, str]:
    """Copy the initrd and the kernel out of the tree; return (kernel file name, version).

    The kernel is unpacked to ``vmlinux`` (QEMU boots its PVH entry, skipping the
    decompressor that would otherwise run emulated); if that fails, ``vmlinuz`` is used.
    """
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    if len(kernels) != 1:
        raise BuildError(f"expected one kernel in /boot, found {[k.name for k in kernels]}")
    version = kernels[0].name.removeprefix("vmlinuz-")
    initrd = root / "boot" / f"initrd.img-{version}"
    if not initrd.is_file():
        raise BuildError(f"no initrd for kernel {version} in /boot")
    shutil.copyfile(initrd, dest / "initrd.img")
    bzimage = kernels[0].read_bytes()
    try:
        fmt, payload = qemu.kernel_payload(bzimage)
        vmlinux = decompress(fmt, payload)
        if not vmlinux.startswith(b"\x7fELF"):
            raise ValueError("the unpacked kernel is not an ELF file")
        (dest / "vmlinux").write_bytes(vmlinux)
        with log.open("a") as out:
            out.write(f"\n# kernel {version}: unpacked {fmt} payload to vmlinux ({len(vmlinux)} bytes)\n")
        return "vmlinux", version
    except (ValueError, OSError, subprocess.CalledProcessError, lzma.LZMAError, zlib.error) as exc:
        with log.open("a") as out:
            out.write(f"\n# kernel {version}: cannot unpack ({exc}); booting vmlinuz\n")
        shutil.copyfile(kernels[0], dest / "vmlinuz")
        return "vmlinuz", version


def decompress(fmt: str, payload: bytes) -> bytes:
    """Decompress a kernel payload (xz and gzip in Python, zstd with the zstd tool)."""
    if fmt == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
    if fmt == "gzip":
        return zlib.decompressobj(wbits=31).decompress(payload)
    if fmt == "zstd":
        if shutil.which("zstd") is None:
            raise ValueError("the kernel is zstd-compressed and the zstd tool is not installed")
        # The kernel appends the uncompressed size (4 bytes) to every payload; zstd rejects it.
        return subprocess.run(["zstd", "-dc"], input=payload[:-4], capture_output=True, check=True).stdout
    raise ValueError(f"cannot unpack a {fmt} kernel")


def make_root_disk(root: Path, recipe: vr.VmRecipe, workdir: Path, dest: Path, log: Path) -> None:
    """Write the tree into an ext4 filesystem image (no partitions) and convert it to qcow2."""
    raw = workdir / "root.raw"
    run_logged(["truncate", "--size", recipe.root_size, str(raw)], log)
    run_logged(["mkfs.ext4", "-q", "-L", "rampart-root", "-d", str(root), str(raw)], log)
    run_logged([qemu.QEMU_IMG, "convert", "-O", "qcow2", str(raw), str(dest)], log)
    raw.unlink()
