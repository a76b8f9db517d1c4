#!/usr/bin/env bash
# Relayed calls through Hotline's media server and through rtpengine (Debian's rtpengine-daemon,
# userspace forwarding: --table=-1, no kernel module), side by side in one run, with the same
# generator and the same control protocol:
#
#   ng_bench load ──ng offer/answer/delete──> ng_bench serve (Hotline media server, this crate)
#                 ──ng offer/answer/delete──> rtpengine --listen-ng
#   caller socket <──RTP 20 ms PCMU both ways──> relay <──> callee socket     (N calls at once)
#
# For each call count in CALLS, each relay in turn carries CALLS calls for SECONDS; the generator
# prints packets forwarded per second, loss, added jitter (per-packet delay variation over each
# stream's minimum transit, and RFC 3550 interarrival jitter) and the relay process's CPU over the
# send window (/proc/PID/stat utime+stime: every thread of the process). The script then prints
# the ratio rtpengine / Hotline of CPU per call (> 1: Hotline needs less CPU per call).
#
# Needs: rtpengine (apt-get install -y rtpengine-daemon; its systemd service is not used), cargo.
# Loopback only; at most 500 calls and 120 s per step. Stops every process it started (by pid).
#
#   crates/media-server/bench/rtpengine.sh                  # CALLS="100 300" SECONDS_PER_RUN=20
#   CALLS="50 200" SECONDS_PER_RUN=10 crates/media-server/bench/rtpengine.sh
#   RELAYS="rtpengine hotline" RTPENGINE_THREADS=1 crates/media-server/bench/rtpengine.sh  # order, threads
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
calls_list=${CALLS:-"100 300"}
seconds=${SECONDS_PER_RUN:-20}
relays=${RELAYS:-"hotline rtpengine"}
# rtpengine's worker threads: empty = its default (one per core); Hotline's media task is one thread.
rtpengine_threads=${RTPENGINE_THREADS:-}
hotline_ng=${HOTLINE_NG_PORT:-22230}
rtpengine_ng=${RTPENGINE_NG_PORT:-22231}
# Both RTP ranges lie below Linux's ephemeral range (32768-60999), where the generator's sockets land.
hotline_rtp_min=${HOTLINE_RTP_MIN:-30000}
rtpengine_rtp_min=${RTPENGINE_RTP_MIN:-28000}

command -v rtpengine >/dev/null || { echo "rtpengine not found: apt-get install -y rtpengine-daemon" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

[ -n "${SKIP_BUILD:-}" ] || (cd "$root" && cargo build --release -q -p media-server --example ng_bench)
bench="${CARGO_TARGET_DIR:-$root/target}/release/examples/ng_bench"

"$bench" serve --ng "127.0.0.1:$hotline_ng" --port-min "$hotline_rtp_min" --max-calls 500 >"$work/hotline.log" 2>&1 &
hotline_pid=$!
pids+=("$hotline_pid")
# --config-file=none: Debian's /etc/rtpengine/rtpengine.conf (kernel table 0, its own interface)
# is not read.
rtpengine --config-file=none --foreground --table=-1 --interface=127.0.0.1 ${rtpengine_threads:+--num-threads=$rtpengine_threads} \
    --listen-ng="127.0.0.1:$rtpengine_ng" --port-min="$rtpengine_rtp_min" --port-max=$((rtpengine_rtp_min + 1999)) \
    --pidfile="$work/rtpengine.pid" --log-stderr --log-level=4 >"$work/rtpengine.log" 2>&1 &
rtpengine_pid=$!
pids+=("$rtpengine_pid")
sleep 2
for pid in "$hotline_pid" "$rtpengine_pid"; do
    kill -0 "$pid" 2>/dev/null || { echo "a relay did not start:" >&2; cat "$work"/*.log >&2; exit 1; }
done
echo "# $(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); rtpengine $(rtpengine --version 2>&1 | head -1), threads: ${rtpengine_threads:-default}"

results="$work/results"
for n in $calls_list; do
    for relay in $relays; do
        if [ "$relay" = hotline ]; then port=$hotline_ng pid=$hotline_pid; else port=$rtpengine_ng pid=$rtpengine_pid; fi
        line=$(timeout $((seconds + 60)) "$bench" load --ng "127.0.0.1:$port" --pid "$pid" --label "$relay" \
            --calls "$n" --seconds "$seconds")
        echo "$line" | tee -a "$results"
        sleep 2 # let the deleted calls go before the next run
    done
    # CPU per call, rtpengine / Hotline, from the two lines just measured.
    awk -v n="$n" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
        f["calls"] == n { cpu[f["relay"]] = f["cpu_us_per_call_second"]; pps[f["relay"]] = f["forwarded_pps"] }
        END {
            if (cpu["hotline"] > 0) printf "ratio calls=%s cpu_per_call rtpengine/hotline=%.2f forwarded_pps hotline=%s rtpengine=%s\n",
                n, cpu["rtpengine"] / cpu["hotline"], pps["hotline"], pps["rtpengine"]
        }' "$results"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
