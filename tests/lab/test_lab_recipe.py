"""The image recipe hash: stable for the same recipe, different for any change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lab import recipe as r

FILES = {"a.service": b"[Unit]\n", "sudoers": b"%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n"}


def test_hash_is_stable_and_short() -> None:
    recipe = r.recipe_for("bookworm", environ={})
    assert r.recipe_hash(recipe, FILES) == r.recipe_hash(recipe, dict(reversed(FILES.items())))
    assert len(r.recipe_hash(recipe, FILES)) == 16


@pytest.mark.parametrize(
    "change",
    [
        {"release": "trixie"},
        {"mirror": "http://mirror.invalid/debian"},
        {"packages": (*r.PACKAGES, "vim")},
        {"masked_units": r.MASKED_UNITS[1:]},
        {"admin_uid": 1001},
        {"version": r.RECIPE_VERSION + 1},
    ],
)
def test_hash_changes_with_any_constant(change: dict[str, object]) -> None:
    recipe = r.recipe_for("bookworm", environ={})
    assert r.recipe_hash(dataclasses.replace(recipe, **change), FILES) != r.recipe_hash(recipe, FILES)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "files",
    [
        {**FILES, "a.service": b"[Unit]\nDescription=x\n"},
        {**FILES, "new.conf": b""},
        {"b.service": FILES["a.service"], "sudoers": FILES["sudoers"]},
    ],
)
def test_hash_changes_with_image_files(files: dict[str, bytes]) -> None:
    recipe = r.recipe_for("bookworm", environ={})
    assert r.recipe_hash(recipe, files) != r.recipe_hash(recipe, FILES)


def test_mirror_comes_from_the_environment() -> None:
    recipe = r.recipe_for("trixie", environ={"RAMPART_LAB_MIRROR": "http://m.invalid/debian"})
    assert recipe.mirror == "http://m.invalid/debian"
    assert recipe.security_mirror == r.DEFAULT_SECURITY_MIRROR


def test_unknown_release_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown release"):
        r.recipe_for("buster", environ={})


def test_every_file_under_lab_image_is_installed() -> None:
    assert set(r.read_image_files()) == set(r.IMAGE_FILES)


def test_read_image_files_reads_nested_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x").write_bytes(b"1")
    (tmp_path / "y").write_bytes(b"2")
    assert r.read_image_files(tmp_path) == {"sub/x": b"1", "y": b"2"}


def test_sources_point_at_the_recipe_mirror() -> None:
    template = r.read_image_files()["debian.sources"].decode()
    text = r.render_sources(template, r.recipe_for("trixie", environ={}))
    assert "URIs: http://deb.debian.org/debian\n" in text
    assert "Suites: trixie trixie-updates\n" in text
    assert "Suites: trixie-security\n" in text
    assert "$" not in text
