#!/usr/bin/env bash
# Calls per second through Hotline's B2BUA and through Kamailio (stateful proxy, tm +
# record-route), side by side in one run, with the same sipp caller and the same sipp callee:
#
#   sipp uac ──> Hotline b2bua (direct dial to extension 1002) ──> sipp uas (registered as 1002)
#   sipp uac ──> Kamailio (t_relay)                             ──> sipp uas (the same one)
#
# Call flow: INVITE -> 100 -> 180 -> 200 -> ACK -> BYE -> 200. For each offered rate, each system
# gets RATE*STEP_S calls; the script prints successful calls, failed calls, the failure % and the
# calls per second achieved (successful calls / wall time of the sipp run), then the best rate of
# each at < 1 % failures and their ratio.
#
# Needs: sipp (Debian sip-tester), kamailio (Debian kamailio), cargo. Loopback only. Stops every
# process it started (by pid) on exit.
#
#   crates/sip-server/bench/b2bua.sh                 # RATES="500 1000 2000 3000" STEP_S=10
#   RATES="1000 4000" STEP_S=5 crates/sip-server/bench/b2bua.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rates=${RATES:-"500 1000 2000 3000"}
step_s=${STEP_S:-10}
hotline_port=${HOTLINE_PORT:-25070}
kamailio_port=${KAMAILIO_PORT:-25080}
uas_port=${UAS_PORT:-25090}
uac_base=${UAC_PORT:-25100}
mpath=${KAMAILIO_MODULES:-/usr/lib/x86_64-linux-gnu/kamailio/modules/}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

[ -n "${SKIP_BUILD:-}" ] || (cd "$root" && cargo build --release -q -p sip-server --example b2bua)
target=${CARGO_TARGET_DIR:-$root/target}

"$target/release/examples/b2bua" "127.0.0.1:$hotline_port" 1002 demo1002 >"$work/hotline.log" 2>&1 &
pids+=($!)
sed -e "s|@PORT@|$kamailio_port|" -e "s|@UAS@|127.0.0.1:$uas_port|" -e "s|@MPATH@|$mpath|" -e "s|@CHILDREN@|${KAMAILIO_CHILDREN:-4}|" \
    "$here/kamailio/kamailio.cfg.in" >"$work/kamailio.cfg"
kamailio -f "$work/kamailio.cfg" -P "$work/kamailio.pid" -w "$work" -DD -E -m 256 >"$work/kamailio.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/hotline.log" && break; sleep 0.1; done
sleep 1

# The callee registers with Hotline as 1002 (digest auth), then answers every call on that port.
(cd "$work" && sipp "127.0.0.1:$hotline_port" -sf "$here/../tests/sipp/register.xml" -i 127.0.0.1 -p "$uas_port" \
    -s 1002 -au 1002 -ap demo1002 -m 1 -nostdin -timeout 10s -timeout_error >/dev/null 2>&1)
(cd "$work" && exec sipp -sf "$here/uas.xml" -i 127.0.0.1 -p "$uas_port" -nostdin >/dev/null 2>&1) &
pids+=($!)
sleep 0.5

results="$work/results"
run=0
for rate in $rates; do
    for system in ${SYSTEMS:-hotline kamailio}; do
        port=$hotline_port
        [ "$system" = kamailio ] && port=$kamailio_port
        run=$((run + 1))
        calls=$((rate * step_s))
        start=$(date +%s.%N)
        (cd "$work" && sipp "127.0.0.1:$port" -sf "$here/uac.xml" -s 1002 -i 127.0.0.1 -p $((uac_base + run)) \
            -r "$rate" -m "$calls" -l $((rate * 4)) -nostdin -recv_timeout 4000 -timeout $((step_s * 4))s \
            >"$work/uac-$run.out" 2>&1) || true
        end=$(date +%s.%N)
        ok=$(grep -E '^ *Successful call' "$work/uac-$run.out" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
        failed=$(grep -E '^ *Failed call' "$work/uac-$run.out" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3}')
        ok=${ok:-0}
        failed=${failed:-$calls}
        echo "$system $rate $calls $ok $failed $start $end" >>"$results"
    done
done

awk '
{ sys=$1; rate=$2; calls=$3; ok=$4; failed=$5; secs=$7-$6
  pct = (ok+failed) > 0 ? 100*failed/(ok+failed) : 100
  cps = secs > 0 ? ok/secs : 0
  printf "%-9s offered %6d/s  calls %7d  ok %7d  failed %6d (%5.2f %%)  %7.1f s  %8.1f calls/s\n", sys, rate, calls, ok, failed, pct, secs, cps
  if (pct < 1 && cps > best[sys]) { best[sys]=cps; at[sys]=rate }
}
END {
  printf "\nbest at < 1 %% failed: hotline %.1f calls/s (offered %d/s), kamailio %.1f calls/s (offered %d/s)\n", best["hotline"], at["hotline"], best["kamailio"], at["kamailio"]
  if (best["kamailio"] > 0) printf "ratio hotline/kamailio: %.2f\n", best["hotline"]/best["kamailio"]
}' "$results"
if [ -n "${KEEP_LOGS:-}" ]; then cp -r "$work" "$KEEP_LOGS"; fi
