"""Build the lab's base images offline: debootstrap, customise in a chroot, ``podman import``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lab import recipe as r
from lab.parse import Image, parse_image_inspect
from lab.podman import PodmanError, podman
from lab.util import STATE_DIR, file_lock, say

BUILD_PARENT = Path("/var/tmp")
LOG_DIR = STATE_DIR / "logs"
LOCK_DIR = STATE_DIR / "locks"
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
    "HOME": "/root",
}
# Left behind by debootstrap and apt; not part of a fresh image.
CLEAN_GLOBS = (
    "var/cache/apt/*.bin",
    "var/cache/apt/archives/*.deb",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "var/log/*.log",
    "var/log/apt/*",
    "tmp/*",
    "var/tmp/*",
    "root/.bash_history",
)


class BuildError(RuntimeError):
    """An image build step failed."""


@dataclass(frozen=True)
class ImageState:
    """A release's image: the recipe hash it should have and what podman holds."""

    release: str
    reference: str
    want: str
    image: Image | None

    @property
    def have(self) -> str | None:
        """The recipe hash of the image podman holds, if any."""
        return self.image.labels.get(r.LABEL_RECIPE) if self.image else None

    @property
    def current(self) -> bool:
        """Whether podman holds an image built from the current recipe."""
        return self.have == self.want


@dataclass(frozen=True)
class BuildResult:
    """What ``ensure_images`` did for one release."""

    release: str
    reference: str
    recipe_hash: str
    built: bool
    seconds: float
    size: int


def inspect_image(reference: str) -> Image | None:
    """Return podman's view of ``reference``, or None if there is no such image."""
    proc = podman("image", "inspect", "--format", "json", reference, check=False)
    if proc.returncode != 0:
        return None
    return parse_image_inspect(proc.stdout)


def image_state(release: str) -> ImageState:
    """Compare the image podman holds for ``release`` with the current recipe."""
    recipe = r.recipe_for(release)
    want = r.recipe_hash(recipe, r.read_image_files())
    reference = r.image_name(release)
    return ImageState(release=release, reference=reference, want=want, image=inspect_image(reference))


def ensure_images(releases: Sequence[str], *, force: bool = False, jobs: int = 2) -> list[BuildResult]:
    """Build every release whose image is missing or from an older recipe (all with ``force``).

    Builds run ``jobs`` at a time; each holds a per-release lock so concurrent callers
    (e.g. two Molecule scenarios) build an image once.
    """
    unique = list(dict.fromkeys(releases))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda release: _ensure_one(release, force=force), unique))


def _ensure_one(release: str, *, force: bool) -> BuildResult:
    state = image_state(release)
    if state.current and not force:
        size = state.image.size if state.image else 0
        return BuildResult(release, state.reference, state.want, built=False, seconds=0.0, size=size)
    with file_lock(LOCK_DIR / f"image-{release}.lock"):
        state = image_state(release)
        if state.current and not force:
            size = state.image.size if state.image else 0
            return BuildResult(release, state.reference, state.want, built=False, seconds=0.0, size=size)
        start = time.monotonic()
        why = "forced" if force and state.current else ("recipe changed" if state.image else "missing")
        say(f"{release}: building {state.reference} ({why}, recipe {state.want}), log: {_log_path(release)}")
        build(release, state.want)
        seconds = time.monotonic() - start
        new = inspect_image(state.reference)
        if state.image and new and state.image.id != new.id:
            _remove_old_image(state.image.id, release)
        size = new.size if new else 0
        say(f"{release}: built {state.reference} in {seconds:.1f} s ({size / 1e6:.0f} MB)")
        return BuildResult(release, state.reference, state.want, built=True, seconds=seconds, size=size)


def _remove_old_image(image_id: str, release: str) -> None:
    proc = podman("rmi", image_id, check=False)
    if proc.returncode != 0:
        say(f"{release}: kept the previous image {image_id[:12]} (still used by a container)")


def _log_path(release: str) -> Path:
    return LOG_DIR / f"image-{release}.log"


def build(release: str, recipe_hash: str) -> None:
    """Build and import the image for ``release`` in a temporary directory under /var/tmp."""
    recipe = r.recipe_for(release)
    files = r.read_image_files()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = _log_path(release)
    log.write_text(f"# rampart lab image build: {release}, recipe {recipe_hash}\n")
    workdir = Path(tempfile.mkdtemp(prefix=f"rampart-lab-{release}-", dir=BUILD_PARENT))
    root = workdir / "root"
    try:
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
        customise(root, recipe, files, log)
        _import(root, release, recipe_hash, log)
    except (subprocess.CalledProcessError, PodmanError, OSError) as exc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        message = f"{release}: image build failed: {exc}\n--- last lines of {log} ---\n{tail}"
        raise BuildError(message) from exc
    finally:
        unmount_below(workdir)
        shutil.rmtree(workdir, ignore_errors=True)


def run_logged(argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Run ``argv`` with its output appended to ``log``; raise CalledProcessError on failure."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, check=True)


def run_in_chroot(root: Path, log: Path, *argv: str) -> None:
    """Run ``argv`` inside the tree at ``root`` (chroot), logging to ``log``."""
    run_logged(["chroot", str(root), *argv], log, env=CHROOT_ENV)


def add_admin_user(root: Path, log: Path, user: str, *, uid: int, shell: str, groups: Sequence[str]) -> None:
    """Create the lab admin in the tree at ``root``: key-only (locked password), may sudo."""
    run_in_chroot(
        root,
        log,
        "useradd",
        "--create-home",
        "--uid",
        str(uid),
        "--shell",
        shell,
        "--groups",
        ",".join(groups),
        "--comment",
        "Rampart lab admin",
        user,
    )
    run_in_chroot(root, log, "passwd", "--lock", user)


def customise(root: Path, recipe: r.Recipe, files: dict[str, bytes], log: Path) -> None:
    """Turn a debootstrapped tree into a lab image (see lab/README.md for what and why)."""
    etc = root / "etc"

    add_admin_user(
        root,
        log,
        recipe.admin_user,
        uid=recipe.admin_uid,
        shell=recipe.admin_shell,
        groups=recipe.admin_groups,
    )

    # Files from lab/image/.
    for name, (dest, mode) in r.IMAGE_FILES.items():
        content = files[name]
        if name == "debian.sources":
            content = r.render_sources(content.decode(), recipe).encode()
        target = root / dest.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(mode)
    run_in_chroot(root, log, "visudo", "--check", "--file", "/etc/sudoers.d/rampart-lab")
    (etc / "apt" / "sources.list").unlink(missing_ok=True)

    # Units: mask the ones a container has no use for; generate SSH host keys on first boot.
    systemd = etc / "systemd" / "system"
    for unit in recipe.masked_units:
        link = systemd / unit
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to("/dev/null")
    wants = systemd / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    keygen = wants / r.KEYGEN_UNIT
    keygen.unlink(missing_ok=True)
    keygen.symlink_to(f"/etc/systemd/system/{r.KEYGEN_UNIT}")
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()

    # Package lists for the image's own sources, so apt (and check mode) work on a fresh host.
    resolv = etc / "resolv.conf"
    resolv.unlink(missing_ok=True)
    shutil.copyfile("/etc/resolv.conf", resolv)
    run_in_chroot(root, log, "apt-get", "update", "-q")
    run_in_chroot(root, log, "apt-get", "clean")

    # Per-container identity comes from podman and systemd at start.
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


def _import(root: Path, release: str, recipe_hash: str, log: Path) -> None:
    reference = r.image_name(release)
    with log.open("a") as out:
        out.write(f"\n$ tar -C {root} -c . | podman import ... {reference}\n")
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(root), "-c", "."],
        stdout=subprocess.PIPE,
    )
    try:
        podman(
            "import",
            "--change",
            'CMD ["/sbin/init"]',
            "--change",
            "STOPSIGNAL SIGRTMIN+3",
            "--change",
            f"LABEL {r.LABEL_RECIPE}={recipe_hash}",
            "--change",
            f"LABEL {r.LABEL_RELEASE}={release}",
            "--message",
            f"rampart lab image {release}, recipe {recipe_hash}",
            "-",
            reference,
            stdin=tar.stdout,
        )
    finally:
        if tar.stdout:
            tar.stdout.close()
        if tar.wait() != 0:
            raise BuildError(f"{release}: tar of the image tree failed (exit {tar.returncode})")


def unmount_below(directory: Path) -> None:
    """Unmount anything still mounted under ``directory`` (deepest first) before removing it."""
    prefix = str(directory.resolve()) + os.sep
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False, capture_output=True)
