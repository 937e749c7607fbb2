"""Install the collections rampart uses without Ansible Galaxy (unreachable here).

The `ansible` wheel on PyPI bundles every community collection. This downloads the pinned
wheel once and extracts only the collections named in pyproject.toml ([tool.rampart]) into
.collections/ansible_collections/, next to the link that makes this checkout `rampart.hardening`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".collections" / "ansible_collections"


def wanted() -> tuple[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["rampart"]
    return config["ansible-wheel"], list(config["collections"])


def main() -> int:
    wheel_spec, collections = wanted()
    stamp = TARGET / ".installed"
    expected = f"{wheel_spec} {' '.join(sorted(collections))}"
    if stamp.exists() and stamp.read_text() == expected:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, wheel_spec],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        prefixes = [f"ansible_collections/{c.replace('.', '/')}/" for c in collections]
        for name in collections:
            shutil.rmtree(TARGET / name.replace(".", "/"), ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if m.startswith(tuple(prefixes))]
            archive.extractall(TARGET.parent, members)
    stamp.write_text(expected)
    print(f"collections: {', '.join(collections)} from {wheel_spec}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
