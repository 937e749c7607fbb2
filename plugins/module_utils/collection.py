"""Where this collection is and which version it is (controller side)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def collection_version(root: Path = ROOT) -> str:
    """The version of this collection: MANIFEST.json when installed, galaxy.yml in a checkout."""
    try:
        return str(json.loads((root / "MANIFEST.json").read_text())["collection_info"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        for line in (root / "galaxy.yml").read_text().splitlines():
            if line.startswith("version:"):
                return line.split(":", 1)[1].strip().strip("\"'")
    except OSError:
        pass
    return "unknown"
