#!/usr/bin/env bash
# Gateway benchmark: a real `syneroym run` (release) with three copies of the hello C app (hello, hello2, hello3).
#   1. idle memory: PSS summed over the node and every descendant (template, each worker's outer, init and app
#      processes), from /proc/PID/smaps_rollup, before any load (after one call to each app) and again after it;
#   2. wrk -t2 -c64 -d${BENCH_WRK_SECONDS:-10}s --latency against GET /v1/health (the gateway alone) and
#      POST /v1/apps/hello/echo (gateway -> sandboxed worker -> app -> response, unsigned), alternating
#      health, echo, health, echo after a warm-up of each. Each route's figure is its better run: interference on
#      a shared machine only ever slows a run down, so the faster run is the closer estimate of what the code
#      does, and alternating gives both routes the same exposure to drift. Every run's figures are printed too.
# Prints one JSON line. Targets (docs/benchmarks.md): echo >= 0.8x health requests/s and echo p99 < 5 ms;
# idle node with three apps < 40 MB PSS in total.
#   Benchmarks/gateway.sh PRODUCTS_DIR        (wrk must be installed; `make bench` installs it)
set -euo pipefail
cd "$(dirname "$0")/.."
products="${1:?usage: Benchmarks/gateway.sh PRODUCTS_DIR}"
bin="$products/syneroym"
seconds="${BENCH_WRK_SECONDS:-10}"
command -v wrk >/dev/null || { echo '{"bench": "gateway", "error": "wrk not installed (apt-get install wrk)"}'; exit 1; }
[ -x "$bin" ] || { echo "{\"bench\": \"gateway\", \"error\": \"no $bin\"}"; exit 1; }

tmp="$(mktemp -d)"
node_pid=""
cleanup() {
    if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then kill -KILL "$node_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# Three apps: the shipped hello (manifests/hello.toml, libhello.so from the products directory) and two copies,
# hello2 and hello3. A library names its app id in synapp_magic and the node refuses a library whose id is not the
# manifest's, so each copy is hello.c rebuilt with its own id, exactly as `make plugins` builds libhello.so, and put
# next to its manifest (searched before the products directory).
[ -f "$products/libhello.so" ] || { echo '{"bench": "gateway", "error": "no libhello.so in the products directory (make plugins)"}'; exit 1; }
mkdir -p "$tmp/manifests"
cp manifests/hello.toml "$tmp/manifests/hello.toml"
for id in hello2 hello3; do
    sed -e "s/^id = \"hello\"/id = \"$id\"/" -e "s/^library = \"libhello.so\"/library = \"lib$id.so\"/" \
        manifests/hello.toml > "$tmp/manifests/$id.toml"
    sed -e "s/\"hello\", \"1.0.0\"/\"$id\", \"1.0.0\"/" Plugins/Examples/hello-c/hello.c > "$tmp/$id.c"
    grep -q "\"$id\", \"1.0.0\"" "$tmp/$id.c" || { echo '{"bench": "gateway", "error": "cannot find the app id in hello.c"}'; exit 1; }
    "${CC:-cc}" -shared -fPIC -O2 -Wall -Wextra -I PluginABI/include -o "$tmp/manifests/lib$id.so" "$tmp/$id.c"
done
chmod -R a+rX "$tmp"   # workers run as unprivileged ids

"$bin" run --data "$tmp/data" --manifests "$tmp/manifests" --profiles sandbox-profiles --listen 127.0.0.1:0 \
    2> "$tmp/node.log" &
node_pid=$!
port=""
for _ in $(seq 300); do   # up to 30 s for the gateway and all three workers
    if ! kill -0 "$node_pid" 2>/dev/null; then break; fi
    port="$(grep -m1 'gateway listening' "$tmp/node.log" | grep -o 'address=[^ ]*' | sed 's/.*://' || true)"
    if [ -n "$port" ] && [ "$(grep -c 'event=started(' "$tmp/node.log" || true)" -ge 3 ]; then break; fi
    sleep 0.1
done
if [ -z "$port" ] || [ "$(grep -c 'event=started(' "$tmp/node.log" || true)" -lt 3 ]; then
    echo '{"bench": "gateway", "error": "the node did not start three apps within 30 s"}'
    tail -20 "$tmp/node.log" >&2
    exit 1
fi

# One HTTP request over bash's /dev/tcp (no curl needed); prints the status code.
http() { # METHOD PATH [BODY]
    local body="${3:-}" status
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "$1" "$2" "${#body}" "$body" >&3
    status="$(head -c 12 <&3 | awk '{print $2}')"
    exec 3<&-
    echo "$status"
}

# The node and all its descendants (children are listed per thread).
tree() {
    local p="$1" t c
    echo "$p"
    for t in /proc/"$p"/task/*/children; do
        for c in $(cat "$t" 2>/dev/null); do tree "$c"; done
    done
}
# "PSS_KB PROCESSES UNREADABLE NODE_PSS_KB" for the node's process tree.
pss_tree() {
    local total=0 n=0 unreadable=0 node=0 p kb
    for p in $(tree "$node_pid"); do
        kb="$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || true)"
        if [ -z "$kb" ]; then unreadable=$((unreadable + 1)); continue; fi
        total=$((total + kb)); n=$((n + 1))
        [ "$p" = "$node_pid" ] && node=$kb
    done
    echo "$total $n $unreadable $node"
}

for id in hello hello2 hello3; do
    s="$(http POST /v1/apps/$id/echo '{"warm":true}')"
    [ "$s" = 200 ] || { echo "{\"bench\": \"gateway\", \"error\": \"warm-up call to $id answered $s\"}"; exit 1; }
done
sleep 2   # let the calls' transient buffers go before the idle reading
read -r idle_kb idle_n idle_unreadable idle_node_kb <<< "$(pss_tree)"

# wrk: "RPS P99_MS NON2XX SOCKET_ERRORS" for one run.
run_wrk() { # PATH DURATION [lua]
    local out rps p99 non2xx errors
    if [ -n "${3:-}" ]; then
        out="$(wrk -t2 -c64 -d"$2" --latency -s "$3" "http://127.0.0.1:$port$1")"
    else
        out="$(wrk -t2 -c64 -d"$2" --latency "http://127.0.0.1:$port$1")"
    fi
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<< "$out")"
    p99="$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
                              else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
                              printf "%.3f", v }' <<< "$out")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<< "$out")"
    errors="$(awk -F'[ ,]+' '/Socket errors:/ {print $4 + $6 + $8 + $10}' <<< "$out")"
    echo "${rps:-0} ${p99:-null} ${non2xx:-0} ${errors:-0}"
}

echo_lua=Benchmarks/post_echo.lua
run_wrk /v1/health 2s > /dev/null
run_wrk /v1/apps/hello/echo 2s "$echo_lua" > /dev/null
runs=()
best_h_rps=0; best_h_p99=null; best_e_rps=0; best_e_p99=null; bad=0
for _ in 1 2; do
    read -r rps p99 non2xx errors <<< "$(run_wrk /v1/health "${seconds}s")"
    runs+=("{\"route\": \"health\", \"rps\": $rps, \"p99_ms\": $p99, \"non_2xx\": $non2xx, \"socket_errors\": $errors}")
    bad=$((bad + non2xx + errors))
    if awk -v a="$rps" -v b="$best_h_rps" 'BEGIN { exit !(a > b) }'; then best_h_rps=$rps; best_h_p99=$p99; fi
    read -r rps p99 non2xx errors <<< "$(run_wrk /v1/apps/hello/echo "${seconds}s" "$echo_lua")"
    runs+=("{\"route\": \"echo\", \"rps\": $rps, \"p99_ms\": $p99, \"non_2xx\": $non2xx, \"socket_errors\": $errors}")
    bad=$((bad + non2xx + errors))
    if awk -v a="$rps" -v b="$best_e_rps" 'BEGIN { exit !(a > b) }'; then best_e_rps=$rps; best_e_p99=$p99; fi
done
ratio="$(awk -v e="$best_e_rps" -v h="$best_h_rps" 'BEGIN { if (h > 0) printf "%.3f", e / h; else print "null" }')"
threads="$(awk '/^Threads:/ {print $2}' /proc/"$node_pid"/status)"

sleep 2
read -r after_kb after_n after_unreadable after_node_kb <<< "$(pss_tree)"

kill -TERM "$node_pid"
stop_status=0
wait "$node_pid" || stop_status=$?
node_pid=""

joined="$(IFS=,; echo "${runs[*]}")"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "{\"bench\": \"gateway\", \"wrk\": \"-t2 -c64 -d${seconds}s\", \"health_rps\": $best_h_rps, \"echo_rps\": $best_e_rps," \
     "\"ratio_rps\": $ratio, \"target_ratio_min\": 0.8, \"health_p99_ms\": $best_h_p99, \"echo_p99_ms\": $best_e_p99," \
     "\"target_echo_p99_ms_max\": 5, \"failed_responses\": $bad, \"node_threads\": ${threads:-null}," \
     "\"idle_three_apps_pss_mb\": $(mb "$idle_kb"), \"idle_node_pss_mb\": $(mb "$idle_node_kb"), \"idle_processes\": $idle_n," \
     "\"idle_unreadable_processes\": $idle_unreadable, \"target_idle_pss_mb_max\": 40," \
     "\"after_load_idle_pss_mb\": $(mb "$after_kb"), \"after_load_node_pss_mb\": $(mb "$after_node_kb")," \
     "\"after_load_processes\": $after_n, \"stop_exit_status\": $stop_status, \"runs\": [$joined]}"
