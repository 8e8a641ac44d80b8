#!/usr/bin/env bash
# SCIM throughput and latency, tableau-scim (bridge on the emulator at zero added latency)
# against scim2-server (python-scim's reference server, in memory), the same mix side by side;
# then the reads alone beside bench/reference_server.rs (bare actix-web, fixed bodies: the HTTP
# limit of this machine). tableau-scim runs at the default log level, its log going to a file,
# as a service's would.
# Usage: bench/throughput.sh [seconds per run, default 15] [runs, default 3]
# TABLEAU_SCIM_BIN=path runs that build of tableau-scim instead of this one (a build before, from
# a worktree: the figures side by side in one session).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-15}
RUNS=${2:-3}
TOKEN=bench-token-0123456789
VENV=${TMPDIR:-/tmp}/tableau-scim-bench-venv
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "scim2-server==0.8.3"
cargo build --release --quiet --bin tableau-scim --example reference_server
WORK=$(mktemp -d)
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
PIDS=()
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "$1" && return 0; sleep 0.1; done; echo "$1 did not come up"; exit 1; }

P1=$(free_port)
OURS_BIN=${TABLEAU_SCIM_BIN:-target/release/tableau-scim}
"$OURS_BIN" demo --listen "127.0.0.1:$P1" --token "$TOKEN" --data "$WORK/data" > "$WORK/demo.out" 2> "$WORK/demo.log" &
PIDS+=($!); OURS=$!
P2=$(free_port)
"$VENV/bin/scim2-server" --port "$P2" --bearer-token "$TOKEN" > /dev/null 2>&1 &
PIDS+=($!); PEER=$!
P3=$(free_port)
target/release/examples/reference_server "$P3" "$TOKEN" > /dev/null 2>&1 &
PIDS+=($!)
wait_up "http://127.0.0.1:$P1/scim/v2/ServiceProviderConfig"
wait_up "http://127.0.0.1:$P2/ServiceProviderConfig"
wait_up "http://127.0.0.1:$P3/scim/v2/ServiceProviderConfig"

# scim2-server serves SCIM at the root, tableau-scim under /scim/v2 (BENCH_PREFIX in mix.lua).
python3 "$(dirname "$0")/seed.py" "http://127.0.0.1:$P1/scim/v2" "$TOKEN" 1000 "$WORK/ours.txt"
"$VENV/bin/python" "$(dirname "$0")/seed.py" "http://127.0.0.1:$P2" "$TOKEN" 1000 "$WORK/peer.txt"

run() { # url ids prefix -> RESULT line
  BENCH_TOKEN=$TOKEN BENCH_IDS=$2 BENCH_PREFIX=$3 wrk -t2 -c16 -d"${SECS}s" --latency -s "$(dirname "$0")/mix.lua" "$1" | grep '^RESULT'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2==1) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

: > "$WORK/ours.res"; : > "$WORK/peer.res"
for i in $(seq "$RUNS"); do
  run "http://127.0.0.1:$P1" "$WORK/ours.txt" /scim/v2 >> "$WORK/ours.res"
  run "http://127.0.0.1:$P2" "$WORK/peer.txt" "" >> "$WORK/peer.res"
done
rss() { awk '/VmHWM/ {print $2/1024}' "/proc/$1/status"; }
report() { # name file pid
  printf "%-14s %10s %9s %9s %10s %8s\n" "$1" "$(field rps < "$2" | median)" "$(field p50_ms < "$2" | median)" "$(field p99_ms < "$2" | median)" "$(rss "$3")" "$(field non2xx < "$2" | median)"
}
echo "same mix, wrk -t2 -c16, ${SECS}s x ${RUNS} runs, medians; RSS is the peak (tableau-scim demo includes the emulator)"
printf "%-14s %10s %9s %9s %10s %8s\n" server req/s p50_ms p99_ms peak_MiB non2xx
report tableau-scim "$WORK/ours.res" "$OURS"
report scim2-server "$WORK/peer.res" "$PEER"
ours=$(field rps < "$WORK/ours.res" | median); peer=$(field rps < "$WORK/peer.res" | median)
python3 -c "print(f'ratio (tableau-scim / scim2-server): {float($ours)/max(float($peer),0.001):.1f}x')"

# Where tableau-scim's time goes: the reads and the writes of the mix on their own.
for part in reads writes; do
  : > "$WORK/$part.res"
  for i in $(seq "$RUNS"); do
    BENCH_ONLY=$part run "http://127.0.0.1:$P1" "$WORK/ours.txt" /scim/v2 >> "$WORK/$part.res"
  done
  printf "tableau-scim, %-6s only: %s req/s, p50 %s ms, p99 %s ms\n" "$part" "$(field rps < "$WORK/$part.res" | median)" "$(field p50_ms < "$WORK/$part.res" | median)" "$(field p99_ms < "$WORK/$part.res" | median)"
done

# The reads beside the HTTP limit: the reference server answers the same requests.
: > "$WORK/ref.res"; : > "$WORK/ours-reads.res"
for i in $(seq "$RUNS"); do
  BENCH_ONLY=reads run "http://127.0.0.1:$P1" "$WORK/ours.txt" /scim/v2 >> "$WORK/ours-reads.res"
  BENCH_ONLY=reads run "http://127.0.0.1:$P3" "$WORK/ours.txt" /scim/v2 >> "$WORK/ref.res"
done
echo "reads only, side by side (wrk -t2 -c16, ${SECS}s x ${RUNS} runs, medians):"
printf "%-14s %10s %9s %9s\n" server req/s p50_ms p99_ms
for pair in "tableau-scim ours-reads" "reference ref"; do
  set -- $pair
  printf "%-14s %10s %9s %9s\n" "$1" "$(field rps < "$WORK/$2.res" | median)" "$(field p50_ms < "$WORK/$2.res" | median)" "$(field p99_ms < "$WORK/$2.res" | median)"
done
ours=$(field rps < "$WORK/ours-reads.res" | median); ref=$(field rps < "$WORK/ref.res" | median)
python3 -c "print(f'reads, tableau-scim / reference: {100*float($ours)/max(float($ref),0.001):.0f}%')"
lines=$(wc -l < "$WORK/demo.log"); bytes=$(wc -c < "$WORK/demo.log")
echo "tableau-scim log: $lines lines, $((bytes / (lines > 0 ? lines : 1))) bytes per line on average"

# The writes with the emulator in its own process (the demo above shares one): `serve` on a
# configuration pointing at `tableau-scim emulator`, and the CPU each process spent on them, so
# what a write costs in the bridge is told apart from what the emulated Tableau costs.
P4=$(free_port); P5=$(free_port)
"$OURS_BIN" emulator --listen "127.0.0.1:$P4" --site bench --pat-name scim --pat-secret emu-secret > /dev/null 2>&1 &
PIDS+=($!); EMU=$!
cat > "$WORK/serve.toml" <<TOML
[server]
listen = "127.0.0.1:$P5"
public_url = "http://127.0.0.1:$P5"
data_dir = "$WORK/serve-data"

[[tenants]]
id = "bench"
tableau_url = "http://127.0.0.1:$P4"
site = "bench"
deployment = "server"
pat_name = "scim"
TOML
wait_up "http://127.0.0.1:$P4/_emulator/stats"
TABLEAU_SCIM_TENANT_BENCH_PAT_SECRET=emu-secret TABLEAU_SCIM_TENANT_BENCH_TOKENS=$TOKEN \
  "$OURS_BIN" serve --config "$WORK/serve.toml" > /dev/null 2> "$WORK/serve.log" &
PIDS+=($!); SERVE=$!
wait_up "http://127.0.0.1:$P5/scim/v2/ServiceProviderConfig"
python3 "$(dirname "$0")/seed.py" "http://127.0.0.1:$P5/scim/v2" "$TOKEN" 1000 "$WORK/serve.txt"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
: > "$WORK/split.res"
s0=$(cpu_ticks "$SERVE"); e0=$(cpu_ticks "$EMU")
for i in $(seq "$RUNS"); do
  BENCH_ONLY=writes run "http://127.0.0.1:$P5" "$WORK/serve.txt" /scim/v2 >> "$WORK/split.res"
done
s1=$(cpu_ticks "$SERVE"); e1=$(cpu_ticks "$EMU")
done_writes=$(field requests < "$WORK/split.res" | awk '{s+=$1} END {print s}')
hz=$(getconf CLK_TCK)
printf "tableau-scim, writes only, emulator in its own process: %s req/s, p50 %s ms, p99 %s ms\n" "$(field rps < "$WORK/split.res" | median)" "$(field p50_ms < "$WORK/split.res" | median)" "$(field p99_ms < "$WORK/split.res" | median)"
python3 -c "n=max(int('${done_writes:-0}' or 0),1); print(f'CPU per write: bridge {1e6*($s1-$s0)/$hz/n:.0f} us, emulator {1e6*($e1-$e0)/$hz/n:.0f} us ({n} writes)')"
