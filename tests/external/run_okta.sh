#!/usr/bin/env bash
# Okta's SCIM 2.0 SPEC and CRUD tests (Runscope exports, see okta_runscope.js's header for
# what they are and what the runner adapts in memory) against `tableau-scim demo`.
#
# Usage: tests/external/run_okta.sh BINARY [FLAVOUR...]      (flavours: server cloud; default both)
# Suites: $EXTERNAL_SUITES, else <repo>/../shared/external-suites. Output files (demo logs, one
# JSON result per run): $EXTERNAL_OUT, else a new temporary directory (printed).
# For each flavour: one demo; SPEC, then CRUD with Okta emulated as an OIN template app, then
# CRUD as an App Integration Wizard app; the demo is stopped. Exit 1 when any run has a failure
# not in okta_runscope.js's KNOWN table, 2 when something could not run.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

binary=${1:?usage: run_okta.sh BINARY [FLAVOUR...]}
shift
flavours=("$@")
[ ${#flavours[@]} -eq 0 ] && flavours=(server cloud)
suites=$(suites_dir) || { echo "no suites directory (set EXTERNAL_SUITES)" >&2; exit 2; }
out=${EXTERNAL_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/okta-suites.XXXXXX")}
mkdir -p "$out"
command -v node >/dev/null || { echo "node is required" >&2; exit 2; }
trap stop_demo EXIT

status=0
for flavour in "${flavours[@]}"; do
  start_demo "$binary" "$flavour" "$out/demo-okta-$flavour.log" || { status=2; continue; }
  echo "== Okta suites, flavour $flavour, demo at $DEMO_URL (log $out/demo-okta-$flavour.log)"
  for run in "spec" "crud oin" "crud aiw"; do
    set -- $run
    suite=$1 style=${2:-}
    name=okta-$suite${style:+-$style}-$flavour
    node "$here/okta_runscope.js" --suite "$suite" ${style:+--okta-style "$style"} \
      --suites "$suites" --base-url "$DEMO_URL" --token "$DEMO_TOKEN" --flavour "$flavour" \
      --json-out "$out/$name.json"
    rc=$?
    if [ $rc -gt $status ]; then status=$rc; fi
  done
  stop_demo
done
echo "Okta results and demo logs: $out"
exit $status
