#!/usr/bin/env bash
# Resident memory of `tableau-scim serve` with 100,000 users known to its caches: the emulator
# runs as its own process (seeded), the server pages through every user.
# Usage: bench/memory.sh [users, default 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
TOKEN=memory-bench-token-123456
# BIN: another build to measure (e.g. the previous release, side by side); default this one.
if [ -z "${BIN:-}" ]; then cargo build --release --quiet --bin tableau-scim; BIN=target/release/tableau-scim; fi
WORK=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
python3 - "$N" > "$WORK/seed.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"users": [{"name": f"user{i:06}@example.com", "siteRole": "Viewer", "fullName": f"User {i}",
                             "email": f"user{i:06}@example.com"} for i in range(n)]}))
PY
EP=$(free_port); SP=$(free_port)
RUST_LOG=warn "$BIN" emulator --listen "127.0.0.1:$EP" --site mem --pat-name scim --pat-secret s --seed "$WORK/seed.json" > /dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do curl -fs -o /dev/null "http://127.0.0.1:$EP/_emulator/stats" && break; sleep 0.1; done
cat > "$WORK/config.toml" <<TOML
[server]
listen = "127.0.0.1:$SP"
data_dir = "$WORK/data"
[[tenants]]
id = "mem"
tableau_url = "http://127.0.0.1:$EP"
site = "mem"
deployment = "server"
pat_name = "scim"
pat_secret = "s"
TOML
RUST_LOG=warn TABLEAU_SCIM_TENANT_MEM_TOKENS=$TOKEN "$BIN" serve --config "$WORK/config.toml" > /dev/null 2>&1 &
SERVER=$!; PIDS+=($SERVER)
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$SP/healthz" && break; sleep 0.1; done
rss() { awk -v k="$2" '$1 == k":" {printf "%.1f", $2/1024}' "/proc/$1/status"; }
echo "idle: RSS $(rss "$SERVER" VmRSS) MiB"
start=1
while :; do
  got=$(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$SP/scim/v2/Users?startIndex=$start&count=1000" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Resources"]))')
  [ "$got" = 0 ] && break
  start=$((start + got))
done
echo "after paging $((start - 1)) users into the caches: RSS $(rss "$SERVER" VmRSS) MiB, peak $(rss "$SERVER" VmHWM) MiB"
# jemalloc returns freed pages after a ~10 s decay: the figure that stays is the one after it.
sleep 20
echo "20 s later: RSS $(rss "$SERVER" VmRSS) MiB"
calls=$(curl -fs "http://127.0.0.1:$EP/_emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "Tableau calls for the whole import: $calls"
