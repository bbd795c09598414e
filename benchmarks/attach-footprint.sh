#!/usr/bin/env bash
# The attached dashboard's footprint (BENCHMARKS.md, "Attached dashboard footprint"): RSS, Pss and idle CPU of
# `pooltop attach SOCKET --refresh 1s` in an 80x24 tmux pane, watching pooltop-example-service on a throwaway
# PostgreSQL. Needs `swift build -c release` first; for the static variant also
#   swift build -c release --product pooltop-attach --static-swift-stdlib --scratch-path .build-static
#
# Usage: benchmarks/attach-footprint.sh [REPETITIONS=3] [SECONDS=60] [VARIANTS="lean inprocess static"]
# WARMUP=S lets the service run S seconds first (300: its health history is full, the steady state);
# HEALTH_INTERVAL=D sets the service's DB_HEALTH_CHECK_INTERVAL (default 1s); PERF=FILE records a perf profile of each run's measured window into FILE.<variant>.<rep>.
# Prints one line per run and writes the raw figures (and the top mappings by RSS) to benchmarks/attach-footprint-<time>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
seconds=${2:-60}
variants=${3:-lean inprocess static}
release=.build/release
out=benchmarks/attach-footprint-$(date -u +%Y%m%dT%H%M%SZ).txt


pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/pooltop-footprint.XXXXXX)
chmod 755 "$work"
as_postgres() { if [ "$(id -u)" = 0 ]; then chown -R postgres "$work/pg" 2>/dev/null || true; runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$work/pg"
port=$((20000 + RANDOM % 20000))
as_postgres "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
socket="$work/service.sock"
DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres" DB_CONTROL_SOCKET="$socket" DB_POOL_NAME=footprint \
    DB_LEAK_THRESHOLD=2s DB_HEALTH_CHECK_INTERVAL=${HEALTH_INTERVAL:-1s} XDG_RUNTIME_DIR="$work" \
    "$release/pooltop-example-service" >"$work/service.log" 2>&1 &
service=$!
cleanup() {
    tmux -L pooltop-footprint kill-server 2>/dev/null || true
    kill "$service" 2>/dev/null || true
    wait "$service" 2>/dev/null || true
    as_postgres "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
sleep "${WARMUP:-0}"

# inprocess: pooltop alone in a directory (no pooltop-attach beside it) attaches in its own process, as before.
mkdir -p "$work/alone"
cp "$release/pooltop" "$work/alone/pooltop"
command_for() {
    case $1 in
    lean) echo "$PWD/$release/pooltop attach $socket --refresh 1s" ;;
    inprocess) echo "$work/alone/pooltop attach $socket --refresh 1s" ;;
    static) echo "$PWD/.build-static/release/pooltop-attach attach $socket --refresh 1s" ;;
    esac
}
ticks=$(getconf CLK_TCK)
{
    echo "# $(date -u +%FT%TZ) $(uname -r) $(swift --version 2>&1 | head -1)"
    echo "# $reps repetitions, ${seconds}s each after a 5 s start; 80x24 tmux pane; --refresh 1s; service warm-up ${WARMUP:-0}s"
} | tee "$out"
for rep in $(seq "$reps"); do
    for variant in $variants; do
        cmd=$(command_for "$variant")
        [ -x "${cmd%% *}" ] || { echo "skip $variant: ${cmd%% *} missing" | tee -a "$out"; continue; }
        tmux -L pooltop-footprint -f /dev/null new-session -d -s "fp" -x 80 -y 24 \
            "exec env TERM=tmux-256color LANG=C.UTF-8 $cmd"
        pid=$(tmux -L pooltop-footprint display -p -t fp '#{pane_pid}')
        sleep 5
        read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
        if [ -n "${PERF:-}" ]; then
            perf record -q -F ${PERF_HZ:-499} -g -o "$PERF.$variant.$rep" -p "$pid" -- sleep "$seconds" 2>/dev/null
        else
            sleep "$seconds"
        fi
        read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
        exe=$(readlink "/proc/$pid/exe")
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
        pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
        anon=$(awk '/^Anonymous:/ {print $2}' "/proc/$pid/smaps_rollup")
        cpu=$(awk -v t=$((u1 + s1 - u0 - s0)) -v hz="$ticks" -v s="$seconds" 'BEGIN {printf "%.3f", 100 * t / hz / s}')
        echo "rep=$rep variant=$variant exe=$exe rss_kib=$rss pss_kib=$pss anon_kib=$anon cpu_ticks=$((u1 + s1 - u0 - s0)) cpu_percent=$cpu" | tee -a "$out"
        # The mappings by resident size (KiB), for where the rest goes.
        awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6 ? $6 : "[anon]")} /^Rss:/ {rss[name] += $2}
             END {for (n in rss) if (rss[n] >= 64) printf "  %6d KiB  %s\n", rss[n], n}' "/proc/$pid/smaps" |
            sort -rn >>"$out"
        tmux -L pooltop-footprint send-keys -t fp q
        sleep 1
        tmux -L pooltop-footprint kill-server 2>/dev/null || true
    done
done
echo "raw: $out"
