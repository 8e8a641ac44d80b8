# Shared by run_okta.sh and run_ms_postman.sh (sourced, not run): start and stop
# `tableau-scim demo` on a free loopback port, and find the suites directory.
#
#   start_demo BINARY FLAVOUR LOGFILE   sets DEMO_PID, DEMO_URL (the SCIM base URL), DEMO_TOKEN
#   stop_demo                           stops the demo started last (by its pid) and waits for it
#
# The demo's stdout and stderr go to LOGFILE, so nothing it prints can block on a full pipe;
# the base URL is read from its "SCIM base URL:" line there.

external_dir() { cd "$(dirname "${BASH_SOURCE[0]}")" && pwd; }

# $EXTERNAL_SUITES, else <repo>/../shared/external-suites.
suites_dir() {
  if [ -n "${EXTERNAL_SUITES:-}" ]; then
    (cd "$EXTERNAL_SUITES" && pwd)
  else
    (cd "$(external_dir)/../../../shared/external-suites" && pwd)
  fi
}

new_token() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

start_demo() {
  local binary=$1 flavour=$2 log=$3
  DEMO_TOKEN=$(new_token)
  "$binary" demo --listen 127.0.0.1:0 --token "$DEMO_TOKEN" --flavor "$flavour" >"$log" 2>&1 &
  DEMO_PID=$!
  DEMO_URL=
  for _ in $(seq 1 300); do
    DEMO_URL=$(sed -n 's/.*SCIM base URL:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$log" | head -n1)
    [ -n "$DEMO_URL" ] && break
    if ! kill -0 "$DEMO_PID" 2>/dev/null; then
      echo "the demo ($flavour) exited before printing its SCIM base URL:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ -z "$DEMO_URL" ]; then
    echo "the demo ($flavour) printed no SCIM base URL in 30 s" >&2
    stop_demo
    return 1
  fi
}

stop_demo() {
  if [ -n "${DEMO_PID:-}" ]; then
    kill "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
    DEMO_PID=
  fi
}
