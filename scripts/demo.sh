#!/usr/bin/env bash
# The demo: the lab estate (lab/estate.yml: a staging and two production web hosts, a PostgreSQL
# primary and standby, a log collector, the secondary site's backup host; Debian 12 and 13), its
# application prepared, then playbooks/site.yml in check mode, hardened, hardened again (nothing may
# change), a backup verified at the secondary site, and the compliance report. Run through `./rampart demo`, which installs everything.
# The same code path is the `estate` stage of `./rampart test` (tests/estate/).
set -euo pipefail
cd "$(dirname "$0")/.."
printf '\n\033[1m== Lab images (debootstrap, cached by recipe)\033[0m\n'
python -m lab images
exec python -m lab estate "$@"
