#!/usr/bin/env bash
# The whole test suite, fast checks first. Run through `./rampart test` (which installs everything).
#   scripts/test.sh [stage ...]   stages: lint unit docs images molecule estate (default: all)
#   scripts/test.sh molecule:NAME runs one Molecule scenario
#
# The whole suite runs lint and docs, the unit tests and the lab image builds side by side (each
# needs one core at most: the builds mostly download and unpack), then the Molecule scenarios.
# Molecule scenarios are every molecule/*/molecule.yml. The scenarios with VMs run first and alone
# (an emulated guest slowed 2-4 times when a container scenario shared the two cores), then two
# workers share the estate and the container scenarios (their hosts mostly wait on I/O): one starts
# with the estate, both take the next scenario from one queue. Each stage's output is kept in
# .lab/logs/stages/ and printed when the stage ends (all of it when it failed, its end otherwise).
set -uo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
LOGS=.lab/logs/stages
mkdir -p "$LOGS"
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT

stage() { # stage NAME COMMAND...: run it, keep its output, record its verdict and time
  local name=$1; shift
  local log="$LOGS/${name//[:\/]/_}.log" start=$SECONDS verdict=ok took mark
  mark=$(mktemp)
  "$@" >"$log" 2>&1 || verdict=FAILED
  took=$((SECONDS - start))
  {
    printf '\n\033[1m== %s\033[0m  (%s)\n' "$name" "$*"
    if [[ $verdict == ok ]]; then tail -n 25 "$log"; else cat "$log"; fi
    # A failed VM scenario: show how its guests' consoles ended (lab keeps them on destroy).
    if [[ $verdict != ok ]]; then
      find .lab/logs -name '*.console.log' -newer "$mark" 2>/dev/null | while read -r console; do
        printf '\n--- last 40 lines of %s ---\n' "$console"; tail -n 40 "$console"
      done
    fi
    printf '== %s: %s after %ss\n' "$name" "$verdict" "$took"
  } | flock "$RESULTS" cat
  rm -f "$mark"
  printf '%6ss  %-6s %s\n' "$took" "$verdict" "$name" | flock "$RESULTS" tee -a "$RESULTS" >/dev/null
  [[ $verdict == ok ]]
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
images() { # both kinds at once: mostly downloads and unpacking
  stage lab-images python -m lab images & local containers=$!
  stage lab-vm-images python -m lab images --kind vm
  wait "$containers"
}
scenarios() { # scenarios vm|container: the Molecule scenarios with or without a VM platform
  local dir
  for dir in molecule/*/; do
    [[ -f $dir/molecule.yml ]] || continue
    if grep -q '^ *kind: vm' "$dir/molecule.yml"; then [[ $1 == vm ]] && basename "$dir"
    else [[ $1 == container ]] && basename "$dir"; fi
  done
}
scenario() { stage "molecule:$1" molecule test -s "$1"; }
lane() { # lane KIND: the scenarios of one kind, one after the other
  local s
  for s in $(scenarios "$1"); do scenario "$s"; done
  return 0
}
estate() { stage estate python -m pytest -q -rs -s -p no:cacheprovider tests/estate; }  # -s: the steps' summaries
worker() { # worker QUEUE: run the container scenarios left in QUEUE until none is left
  local s
  while s=$(flock "$1" sh -c 'head -n 1 "$1"; sed -i 1d "$1"' _ "$1") && [[ -n $s ]]; do scenario "$s"; done
}
molecule_all() { # the VM scenarios alone; then two workers share the container scenarios (and the estate)
  lane vm
  local queue; queue=$(mktemp)
  scenarios container >"$queue"
  { [[ ${1:-} == estate ]] && estate; worker "$queue"; } & local other=$!
  worker "$queue"
  wait "$other"
  rm -f "$queue"
}

prelude() { # lint and docs, the unit tests, the images: side by side
  { lint; docs; } & local checks=$!
  unit & local tests=$!
  images
  wait "$checks" "$tests"
}

stages=("$@"); ((${#stages[@]})) || stages=(prelude molecule+estate)
for s in "${stages[@]}"; do
  case $s in
    prelude) prelude ;;
    lint) lint ;; unit) unit ;; docs) docs ;; images) images ;; estate) estate ;;
    molecule) molecule_all ;; molecule+estate) molecule_all estate ;;
    molecule:*) scenario "${s#molecule:}" ;;
    *) echo "unknown stage $s"; exit 2 ;;
  esac
done

passed=$(grep -c ' ok ' "$RESULTS") failed=$(grep -c ' FAILED ' "$RESULTS")
printf '\n== stage times\n'; cat "$RESULTS"
printf '%6ss  total\n' "$SECONDS"
echo
((failed)) && echo "failed stages: $(awk '$2 == "FAILED" {print $3}' "$RESULTS" | xargs)"
echo "stages: $passed passed, $failed failed"
((failed == 0))
