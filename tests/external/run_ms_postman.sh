#!/usr/bin/env bash
# Microsoft's SCIM Postman collections (AzureAD/SCIMReferenceCode: "SCIM Tests" and "SCIM
# Inbound", see ms_postman.js's header for what they are and what the driver adapts in memory)
# run with newman against `tableau-scim demo`.
#
# Usage: tests/external/run_ms_postman.sh BINARY [FLAVOUR...]  (flavours: server cloud; default both)
# Suites: $EXTERNAL_SUITES, else <repo>/../shared/external-suites. newman: $NEWMAN, else
# newman@$NEWMAN_VERSION installed with npm into ${TMPDIR:-/tmp}/tableau-scim-newman (once).
# Output files (adapted collection, environment, newman's JSON report, results, demo logs):
# $EXTERNAL_OUT, else a new temporary directory (printed).
# Each collection gets a fresh demo (the reference collection counts the users on the server).
# Exit 1 when a test fails that ms_postman.js's KNOWN table does not list, 2 when something
# could not run.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

NEWMAN_VERSION=${NEWMAN_VERSION:-6.2.2}
binary=${1:?usage: run_ms_postman.sh BINARY [FLAVOUR...]}
shift
flavours=("$@")
[ ${#flavours[@]} -eq 0 ] && flavours=(server cloud)
suites=$(suites_dir) || { echo "no suites directory (set EXTERNAL_SUITES)" >&2; exit 2; }
out=${EXTERNAL_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ms-suites.XXXXXX")}
mkdir -p "$out"
command -v node >/dev/null || { echo "node is required" >&2; exit 2; }

if [ -z "${NEWMAN:-}" ]; then
  prefix="${TMPDIR:-/tmp}/tableau-scim-newman"
  NEWMAN="$prefix/node_modules/.bin/newman"
  if [ "$("$NEWMAN" --version 2>/dev/null)" != "$NEWMAN_VERSION" ]; then
    echo "== installing newman@$NEWMAN_VERSION into $prefix"
    npm install --silent --no-audit --no-fund --prefix "$prefix" "newman@$NEWMAN_VERSION" >&2 || { echo "npm install newman failed" >&2; exit 2; }
  fi
fi
echo "== newman $("$NEWMAN" --version)"
trap stop_demo EXIT

status=0
for flavour in "${flavours[@]}"; do
  for collection in reference inbound; do
    start_demo "$binary" "$flavour" "$out/demo-ms-$collection-$flavour.log" || { status=2; continue; }
    echo "== Microsoft $collection collection, flavour $flavour, demo at $DEMO_URL"
    node "$here/ms_postman.js" --collection "$collection" --suites "$suites" --base-url "$DEMO_URL" \
      --token "$DEMO_TOKEN" --flavour "$flavour" --newman "$NEWMAN" --work-dir "$out"
    rc=$?
    if [ $rc -gt $status ]; then status=$rc; fi
    stop_demo
  done
done
echo "Microsoft results and demo logs: $out"
exit $status
