"""The base image recipe: every constant that shapes an image, and its hash.

Changing anything here or any file under ``lab/image/`` changes the recipe hash,
so ``python -m lab images`` rebuilds the images on its next run. Bump
``RECIPE_VERSION`` when the build steps in ``lab/images.py`` change in a way
these constants do not capture.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

RECIPE_VERSION = 1

RELEASES: tuple[str, ...] = ("bookworm", "trixie")
IMAGE_REPOSITORY = "localhost/rampart-lab"

# Debian's mirror; the same one this machine's apt uses. RAMPART_LAB_MIRROR overrides it.
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"

VARIANT = "minbase"
PACKAGES: tuple[str, ...] = (
    "ca-certificates",
    "dbus",
    "iproute2",
    "less",
    "netbase",
    "nftables",
    "openssh-client",
    "openssh-server",
    "procps",
    "python3",
    "python3-apt",
    "sudo",
    "systemd",
    "systemd-sysv",
)

# Units that have nothing to do in a container, or that would change it behind a test's back.
MASKED_UNITS: tuple[str, ...] = (
    "apt-daily-upgrade.service",
    "apt-daily-upgrade.timer",
    "apt-daily.service",
    "apt-daily.timer",
    "console-getty.service",
    "container-getty@.service",
    "getty-static.service",
    "getty.target",
    "getty@.service",
    "serial-getty@.service",
    "systemd-timesyncd.service",
    "systemd-udev-settle.service",
    "systemd-udev-trigger.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udevd.service",
)

ADMIN_USER = "rampart"
ADMIN_UID = 1000
ADMIN_SHELL = "/bin/bash"
ADMIN_GROUPS: tuple[str, ...] = ("sudo",)

# Files under lab/image/ and where they go in the image (path, mode).
IMAGE_FILES: dict[str, tuple[str, int]] = {
    "rampart-lab-ssh-keygen.service": ("/etc/systemd/system/rampart-lab-ssh-keygen.service", 0o644),
    "sudoers-rampart-lab": ("/etc/sudoers.d/rampart-lab", 0o440),
    "debian.sources": ("/etc/apt/sources.list.d/debian.sources", 0o644),
    "apt-no-translations.conf": ("/etc/apt/apt.conf.d/90rampart-lab-no-translations", 0o644),
}
KEYGEN_UNIT = "rampart-lab-ssh-keygen.service"

# Image labels.
LABEL_RECIPE = "rampart.lab.recipe"
LABEL_RELEASE = "rampart.lab.release"

IMAGE_DIR = Path(__file__).resolve().parent / "image"


@dataclass(frozen=True)
class Recipe:
    """Everything that goes into one release's image."""

    release: str
    mirror: str
    security_mirror: str
    version: int = RECIPE_VERSION
    variant: str = VARIANT
    packages: tuple[str, ...] = PACKAGES
    masked_units: tuple[str, ...] = MASKED_UNITS
    admin_user: str = ADMIN_USER
    admin_uid: int = ADMIN_UID
    admin_shell: str = ADMIN_SHELL
    admin_groups: tuple[str, ...] = ADMIN_GROUPS


def image_name(release: str) -> str:
    """Return the image reference for a release, e.g. ``localhost/rampart-lab:bookworm``."""
    return f"{IMAGE_REPOSITORY}:{release}"


def recipe_for(release: str, environ: Mapping[str, str] | None = None) -> Recipe:
    """Return the recipe for ``release``, honouring RAMPART_LAB_MIRROR/RAMPART_LAB_SECURITY_MIRROR."""
    env = os.environ if environ is None else environ
    if release not in RELEASES:
        raise ValueError(f"unknown release {release!r}; known: {', '.join(RELEASES)}")
    return Recipe(
        release=release,
        mirror=env.get("RAMPART_LAB_MIRROR", DEFAULT_MIRROR),
        security_mirror=env.get("RAMPART_LAB_SECURITY_MIRROR", DEFAULT_SECURITY_MIRROR),
    )


def recipe_hash(recipe: Recipe, files: Mapping[str, bytes]) -> str:
    """Hash a recipe and the contents of its image files (name -> bytes) into a short hex digest."""
    digest = hashlib.sha256()
    digest.update(json.dumps(asdict(recipe), sort_keys=True).encode())
    for name in sorted(files):
        digest.update(b"\0file\0" + name.encode() + b"\0")
        digest.update(hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:16]


def read_image_files(directory: Path = IMAGE_DIR) -> dict[str, bytes]:
    """Read every file under ``directory`` (relative POSIX path -> contents)."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


class SourcesRecipe(Protocol):
    """What the apt sources template needs from a recipe (container or VM)."""

    @property
    def release(self) -> str: ...
    @property
    def mirror(self) -> str: ...
    @property
    def security_mirror(self) -> str: ...


def render_sources(template: str, recipe: SourcesRecipe) -> str:
    """Fill the apt sources template from lab/image/ for a recipe."""
    from string import Template

    return Template(template).substitute(
        mirror=recipe.mirror, security_mirror=recipe.security_mirror, release=recipe.release
    )
