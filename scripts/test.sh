#!/usr/bin/env bash
# The whole test suite, fast checks first. Run through `./rampart test` (which installs everything).
#   scripts/test.sh [stage ...]   stages: lint unit docs images molecule (default: all, in that order)
set -uo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0

SCENARIOS=(ssh_access ssh_access_negative log_collector audit_policy firewall firewall_negative replication_health patch_staging patch_staging_vm audit_policy_vm raid_health_vm)
passed=0 failed=0 failures=() timings=()

stage() { # stage NAME COMMAND...
  local name=$1; shift
  printf '\n\033[1m== %s\033[0m  (%s)\n' "$name" "$*"
  local start=$SECONDS verdict=ok took
  if "$@"; then passed=$((passed + 1)); else verdict=FAILED failed=$((failed + 1)); failures+=("$name"); fi
  took=$((SECONDS - start))
  printf '== %s: %s after %ss\n' "$name" "$verdict" "$took"
  timings+=("$(printf '%6ss  %-6s %s' "$took" "$verdict" "$name")")
}

lint() {
  stage yamllint yamllint --strict .
  stage ruff ruff check .
  stage ruff-format ruff format --check .
  stage mypy mypy plugins lab scripts tests bench
  stage ansible-lint ansible-lint --strict
}
unit() { stage pytest python -m pytest -q -rs tests/unit tests/lab; }  # -rs: name every skipped test
docs() {
  stage role-docs python scripts/role_docs.py --check
  stage plugin-docs python scripts/plugin_docs.py
}
images() {
  stage lab-images python -m lab images
  stage lab-vm-images python -m lab images --kind vm
}
molecule_all() {
  local mark before
  for s in "${SCENARIOS[@]}"; do
    mark=$(mktemp) before=$failed
    stage "molecule:$s" molecule test -s "$s"
    # A failed VM scenario: show how its guests' consoles ended (lab keeps them on destroy).
    if ((failed > before)); then
      find .lab/logs -name '*.console.log' -newer "$mark" 2>/dev/null | while read -r log; do
        printf '\n--- last 40 lines of %s ---\n' "$log"; tail -n 40 "$log"
      done
    fi
    rm -f "$mark"
  done
}

stages=("$@"); ((${#stages[@]})) || stages=(lint unit docs images molecule)
for s in "${stages[@]}"; do
  case $s in
    lint) lint ;; unit) unit ;; docs) docs ;; images) images ;; molecule) molecule_all ;;
    *) echo "unknown stage $s"; exit 2 ;;
  esac
done

printf '\n== stage times\n'; printf '%s\n' "${timings[@]}"
printf '%6ss  total\n' "$SECONDS"
echo
((failed)) && echo "failed stages: ${failures[*]}"
echo "stages: $passed passed, $failed failed"
((failed == 0))
