#!/usr/bin/env bash
# What audit export and tracing cost: the same mix (bench/mix.lua) against four `tableau-scim
# serve` processes, each on its own emulated Tableau (`tableau-scim emulator`), runs
# alternating: both off; the audit export alone (an HTTP sink, JSON lines); the export and
# tracing with every trace kept (sample_ratio 1); the export and 1 trace in 10. Spans and audit
# entries go to bench/otlp_sink.py, which counts what arrives. The default log level, each log
# to a file.
# Usage: bench/tracing.sh [seconds per run, default 15] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-15}
RUNS=${2:-3}
TOKEN=bench-token-0123456789
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --quiet --bin tableau-scim
BIN=target/release/tableau-scim
WORK=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "$1" && return 0; sleep 0.1; done; echo "$1 did not come up"; exit 1; }

SINK_PORT=$(free_port)
python3 bench/otlp_sink.py "$SINK_PORT" "$WORK/sink.counts" &
SINK=$!; PIDS+=($SINK)

declare -A PORT SERVE_PID CPU
for name in off audit on ratio10; do
  emu=$(free_port); port=$(free_port); PORT[$name]=$port
  "$BIN" emulator --listen "127.0.0.1:$emu" --site bench --pat-name scim --pat-secret emu-secret > /dev/null 2>&1 &
  PIDS+=($!)
  tracing=""
  audit=$'[[server.audit_sinks]]\nkind = "http"\nformat = "json_lines"\nurl = "http://127.0.0.1:'$SINK_PORT$'/audit"\n'
  case $name in
    off) audit="" ;;
    on) tracing=$'[server.tracing]\notlp_endpoint = "http://127.0.0.1:'$SINK_PORT$'/v1/traces"\n' ;;
    ratio10) tracing=$'[server.tracing]\notlp_endpoint = "http://127.0.0.1:'$SINK_PORT$'/v1/traces"\nsample_ratio = 0.1\n' ;;
  esac
  cat > "$WORK/$name.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
public_url = "http://127.0.0.1:$port"
data_dir = "$WORK/$name-data"
$audit
$tracing
[[tenants]]
id = "bench"
tableau_url = "http://127.0.0.1:$emu"
site = "bench"
deployment = "server"
pat_name = "scim"
TOML
  wait_up "http://127.0.0.1:$emu/_emulator/stats"
  TABLEAU_SCIM_TENANT_BENCH_PAT_SECRET=emu-secret TABLEAU_SCIM_TENANT_BENCH_TOKENS=$TOKEN \
    "$BIN" serve --config "$WORK/$name.toml" > /dev/null 2> "$WORK/$name.log" &
  PIDS+=($!); SERVE_PID[$name]=$!
  wait_up "http://127.0.0.1:$port/scim/v2/ServiceProviderConfig"
  python3 bench/seed.py "http://127.0.0.1:$port/scim/v2" "$TOKEN" 1000 "$WORK/$name.txt"
done

run() { # name -> RESULT line
  BENCH_TOKEN=$TOKEN BENCH_IDS="$WORK/$1.txt" BENCH_PREFIX=/scim/v2 wrk -t2 -c16 -d"${SECS}s" --latency -s bench/mix.lua "http://127.0.0.1:${PORT[$1]}" | grep '^RESULT'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2==1) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for name in off audit on ratio10; do : > "$WORK/$name.res"; CPU[$name]=0; done
sink0=$(cpu_ticks "$SINK")
for i in $(seq "$RUNS"); do
  for name in off audit on ratio10; do
    c0=$(cpu_ticks "${SERVE_PID[$name]}")
    run "$name" >> "$WORK/$name.res"
    CPU[$name]=$(( ${CPU[$name]} + $(cpu_ticks "${SERVE_PID[$name]}") - c0 ))
  done
done
sink1=$(cpu_ticks "$SINK")
hz=$(getconf CLK_TCK)
echo "same mix, wrk -t2 -c16, ${SECS}s x ${RUNS} runs alternating, medians"
printf "%-22s %10s %9s %9s %8s %10s %12s\n" "export, tracing" req/s p50_ms p99_ms non2xx requests "serve_us/req"
for name in off audit on ratio10; do
  total=$(field requests < "$WORK/$name.res" | awk '{s+=$1} END {print s}')
  us=$(python3 -c "print(f'{1e6*${CPU[$name]}/$hz/max($total,1):.1f}')")
  printf "%-22s %10s %9s %9s %8s %10s %12s\n" "$name" "$(field rps < "$WORK/$name.res" | median)" "$(field p50_ms < "$WORK/$name.res" | median)" "$(field p99_ms < "$WORK/$name.res" | median)" "$(field non2xx < "$WORK/$name.res" | median)" "$total" "$us"
done
echo "the collector (Python, on the same 2 cores) used $(( (sink1 - sink0) / hz )) s of CPU during the runs"
# Stop the traced servers first (their last spans are sent at exit), then the sink.
for p in "${PIDS[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
sleep 3
kill -TERM "$SINK"; wait "$SINK" 2>/dev/null || true
echo "the collector received: $(cat "$WORK/sink.counts")"
grep -c "" "$WORK/on.log" | xargs echo "log lines (on):"
