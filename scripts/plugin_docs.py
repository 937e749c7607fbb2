"""Every plugin of the collection renders with ansible-doc (one call per plugin type).

python scripts/plugin_docs.py     # exit 1 naming each plugin whose documentation does not parse
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTION = "rampart.hardening"
# plugin type -> where its documentation lives (filters document themselves in YAML files)
TYPES = {
    "module": "plugins/modules/*.py",
    "filter": "plugins/filter/*.yml",
    "callback": "plugins/callback/*.py",
}


def plugins(pattern: str) -> list[str]:
    return sorted(f"{COLLECTION}.{path.stem}" for path in ROOT.glob(pattern) if path.stem != "__init__")


def main() -> int:
    failures: list[str] = []
    count = 0
    for kind, pattern in TYPES.items():
        names = plugins(pattern)
        proc = subprocess.run(
            ["ansible-doc", "-t", kind, "--json", *names],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        rendered = json.loads(proc.stdout or "{}")
        for name in names:
            count += 1
            doc = (rendered.get(name) or {}).get("doc")
            if not doc or not doc.get("short_description"):
                failures.append(f"{kind} {name}: no documentation rendered")
        if proc.returncode != 0 or "[ERROR]" in proc.stderr or "[WARNING]" in proc.stderr:
            failures.append(f"ansible-doc -t {kind}: {proc.stderr.strip()}")
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{count} plugins documented, {len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
