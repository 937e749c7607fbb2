#!/usr/bin/env bash
# The demo: a lab of one Debian 12 (staging) and one Debian 13 (production) host, hardened by
# playbooks/site.yml, then hardened again to show that nothing changes, then the control report.
# Run through `./rampart demo`, which installs everything first.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Lab images (debootstrap, cached by recipe)"
python -m lab images
step "Lab hosts"
python -m lab up
step "What site.yml would change (check mode, nothing is written)"
python -m lab play playbooks/site.yml --check
step "Harden the lab (site.yml)"
python -m lab play playbooks/site.yml
step "Harden it again: nothing may change"
python -m lab play playbooks/site.yml --expect-no-changes
step "Controls enforced, per host (reports/controls/<host>.json)"
python - <<'PY'
import json, pathlib
for path in sorted(pathlib.Path("reports/controls").glob("*.json")):
    report = json.loads(path.read_text())
    for cid, record in report["controls"].items():
        print(f"{report['host']:<20} {cid:<7} {record['status']:<15} {record['summary']}")
PY
printf '\nThe lab stays up: ssh into it with the commands above, or remove it with ./rampart lab down\n'
