#!/usr/bin/env bash
# Load test of the voice path: CALLS simultaneous sipp callers dial 4000, press 3 and wait for an
# agent; AGENTS bench agents (sipp, one process answering for every binding) answer and hang up
# after TALK_MS. Everything on 127.0.0.1; every process started here is stopped here.
#
#   crates/voice/bench/callers.sh            # 200 callers, 50 agents
#   CALLS=20 AGENTS=5 crates/voice/bench/callers.sh
#
# Needs: sipp (Debian sip-tester), cargo. Prints the contacts by outcome (answered + abandoned +
# ... must equal the calls placed) and the CPU time of the Hotline process per call.
set -euo pipefail

CALLS=${CALLS:-200}
AGENTS=${AGENTS:-50}
RATE=${RATE:-20}             # new calls per second: CALLS are in progress at once after CALLS/RATE s
TALK_MS=${TALK_MS:-5000}
WRAP_UP_S=${WRAP_UP_S:-5}
LIMIT_S=${LIMIT_S:-600}      # every sipp run gives up after this long
[ "$CALLS" -le 1000 ] && [ "$AGENTS" -le 500 ] || { echo "CALLS <= 1000 and AGENTS <= 500" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=$(mktemp -d /tmp/voice-bench.XXXXXX)
pids=()
cleanup() {
  exec 3>&- 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

(cd "$root" && cargo build --release -p voice --example voice_bench)
bin="$root/target/release/examples/voice_bench"

mkfifo "$work/ctl"
"$bin" --agents "$AGENTS" --wrap-up-s "$WRAP_UP_S" --dir "$work/data" < "$work/ctl" > "$work/hotline.out" 2> "$work/hotline.err" &
hotline=$!
pids+=("$hotline")
exec 3> "$work/ctl"
for _ in $(seq 1 300); do grep -q '^READY ' "$work/hotline.out" && break; sleep 0.1; done
server=$(awk '/^READY /{print $2}' "$work/hotline.out")
[ -n "$server" ] || { echo "voice_bench did not start:"; cat "$work/hotline.err"; exit 1; } >&2
echo "hotline (voice_bench, pid $hotline) on $server"

# Agents: every bench extension registers from one port, where one sipp answers for all of them
# (-aa: 200 to the registrar's OPTIONS keep-alives).
agent_port=$(free_port)
# (One sipp run per extension: this sipp does not expand [field] inside [authentication].)
for n in $(seq 1 "$AGENTS"); do
  ext=$((2000 + n))
  (cd "$work" && sipp "$server" -sf "$here/../tests/sipp/register.xml" -s "$ext" -au "$ext" -ap "bench$ext" \
    -i 127.0.0.1 -p "$agent_port" -m 1 -timeout 10s -timeout_error -nostdin -trace_err > /dev/null)
done
echo "registered $AGENTS agents at 127.0.0.1:$agent_port"
# No -m: agent legs that are cancelled (ring timeout, caller gone) count as calls too, so a call
# count would stop the phones early; this sipp is stopped below. -l is explicit: sipp's default
# (3 x -d seconds x the default rate 10 = 150 open calls at TALK_MS 5000) made the phones drop
# every INVITE past 150 open calls, and calls sipp holds open (an OPTIONS keep-alive it cannot map
# to a call waits for an INVITE until -timeout) count towards it. 3>&-: this sipp must not hold
# the control FIFO open, or voice_bench never sees its end and the script waits for ever.
(cd "$work" && exec sipp "$server" -sf "$here/agent_uas.xml" -i 127.0.0.1 -p "$agent_port" -mp $((agent_port + 2)) \
  -d "$TALK_MS" -l $((AGENTS * 100)) -aa -timeout "${LIMIT_S}s" -nostdin -trace_err -trace_screen -trace_stat -fd 5 \
  > /dev/null 3>&-) &
agents_pid=$!
pids+=("$agents_pid")
sleep 0.5
echo available >&3
for _ in $(seq 1 100); do grep -q '^AVAILABLE ' "$work/hotline.out" && break; sleep 0.1; done
grep '^AVAILABLE ' "$work/hotline.out"

# Callers: demo customers' numbers (gold, silver and normal tiers), CALLS at RATE per second.
{ echo SEQUENTIAL; for n in $(seq 1 50); do printf '+86138000000%02d;\n' "$n"; done; } > "$work/callers.csv"
caller_port=$(free_port)
ticks_before=$(cpu_ticks "$hotline")
started=$(date +%s.%N)
set +e
(cd "$work" && sipp "$server" -sf "$here/caller.xml" -s 4000 -inf "$work/callers.csv" -i 127.0.0.1 -p "$caller_port" \
  -mp $((caller_port + 2)) -r "$RATE" -rp 1000 -l "$CALLS" -m "$CALLS" -timeout "${LIMIT_S}s" -timeout_error \
  -nostdin -trace_err -trace_screen > /dev/null)
callers_rc=$?
set -e
elapsed=$(echo "$(date +%s.%N) - $started" | bc)
ticks_after=$(cpu_ticks "$hotline")

echo report >&3
sleep 2
exec 3>&-
wait "$hotline" || true
kill -USR1 "$agents_pid" 2>/dev/null || true
sleep 1
kill "$agents_pid" 2>/dev/null || true
wait "$agents_pid" 2>/dev/null || true

hz=$(getconf CLK_TCK)
cpu_ms=$(( (ticks_after - ticks_before) * 1000 / hz ))
echo "callers sipp exit code: $callers_rc (0 = every call completed)"
grep -h -E 'Successful call|Failed call' "$work"/caller_*_screen.log 2>/dev/null | tail -2 || true
echo "wall time of the caller run: ${elapsed} s"
echo "hotline CPU (utime+stime) during the run: ${cpu_ms} ms for $CALLS calls = $(echo "scale=1; $cpu_ms / $CALLS" | bc) ms per call"
grep -E '^(REPORT|COUNTERS) ' "$work/hotline.out" | tail -2
# The phones' side: incoming calls sipp created, completed and failed (last statistics line).
stat=$(ls "$work"/agent_uas_*_.csv 2>/dev/null | head -1)
if [ -n "$stat" ]; then
  python3 - "$stat" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
head, last = rows[0], rows[-1]
want = ["IncomingCall(C)", "SuccessfulCall(C)", "FailedCall(C)", "CurrentCall"]
print("agent phones (sipp):", ", ".join(f"{w}={last[head.index(w)]}" for w in want if w in head))
PY
fi
if [ -n "${KEEP_LOGS:-}" ]; then mkdir -p "$KEEP_LOGS" && cp -r "$work"/*.log "$work"/*.csv "$work/hotline.out" "$work/hotline.err" "$KEEP_LOGS"/ 2>/dev/null || true; fi
