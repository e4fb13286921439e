#!/usr/bin/env bash
# Runtime benchmarks. Each line is one JSON object; every ratio is against a baseline measured in the same run,
# because these machines are noisy. Record figures in docs/benchmarks.md with the command that produced them.
#   Benchmarks/run.sh [PRODUCTS_DIR]      (make bench builds release first and passes its products directory)
set -euo pipefail
cd "$(dirname "$0")/.."
products="${1:-$(swift build -c release --show-bin-path)}"
bin="$products/syneroym"
seconds="${BENCH_SECONDS:-6}"
runs="${BENCH_RUNS:-60}"

command -v bwrap >/dev/null || echo '{"note": "bwrap not installed: coldstart has no baseline (apt-get install bubblewrap)"}'

echo "# rtt: full call (host -> sandboxed worker -> app -> host) vs raw 64-byte SOCK_SEQPACKET ping-pong, both pinned to CPU 0"
"$bin" bench rtt --seconds "$seconds"
echo "# rtt, diagnostic: the same worker code without the sandbox (splits sandbox cost from code cost)"
"$bin" bench rtt --seconds "$seconds" --unsandboxed
echo "# coldstart: spawn to the app's first reply with the full sandbox vs bwrap --unshare-all ... /bin/true"
"$bin" bench coldstart --runs "$runs"
echo "# memory: private memory of a running C app's worker processes (outer, init, app)"
"$bin" bench memory
echo "# memory with storage open: the store app (C) with its database, after one put+get"
"$bin" bench memory --manifest Benchmarks/store.toml --broker --warm putget
echo "# kv: storage in the app's worker; put+get request vs a no-op request (and the transaction alone), and 10,000 puts in 100 requests vs the same storage code called directly"
"$bin" bench kv --manifest Benchmarks/store.toml
echo "# gateway: wrk -t2 -c64 echo through the hello app vs GET /v1/health (same run), and idle PSS of a node with three apps"
Benchmarks/gateway.sh "$products"
echo "# sig: the gateway's RFC 9421 check vs one ed25519 verify plus SHA-256 of the body, same run"
"$bin" bench sig
echo "# coldstart of HomeServices (SynAppKit, swift profile, migrations at init), spawn to its init reply"
"$bin" bench coldstart --manifest manifests/homeservices.toml --broker --runs 20
echo "# homeservices: slots.list over 90 days with 500 bookings, search over 10,000 Spaces (through the gateway), worker PSS"
"$bin" bench homeservices --manifests manifests --profiles sandbox-profiles
echo "# coldstart of FoodMesh, beside HomeServices' above"
"$bin" bench coldstart --manifest manifests/foodmesh.toml --broker --runs 20
echo "# foodmesh: search over 10,000 products in 500 stores, worker PSS, orders (quote + place) by 64 signed clients beside signed echo in the same run, no oversell"
"$bin" bench foodmesh --manifests manifests --profiles sandbox-profiles
echo "# messaging: signed envelopes from 64 people into one group through the gateway, verified, stored and indexed, beside signed echo in the same run; worker PSS"
"$bin" bench messaging --manifests manifests --profiles sandbox-profiles
echo "# messaging across two nodes: a post on A until it is stored on B (p50 target < 10 ms)"
"$bin" bench messaging-net --manifests manifests --profiles sandbox-profiles
"$bin" bench coldstart --manifest manifests/messaging.toml --broker --runs 20
echo "# net: net_send between two linked nodes (one-way p50 inside the apps vs a GnuTLS raw-key ping-pong between two processes, same run), 20,000 messages applied once, an idle link's memory, idle PSS with the shipped apps"
"$bin" bench net --manifests manifests --profiles sandbox-profiles
echo "# backup: a write-heavy client (4 calls in flight) with online encrypted backups running back to back vs without (target >= 0.7x), and an encrypted backup of 1 GB of app data through the node vs sqlite3 .backup of the same database (target <= 2x)"
"$bin" bench backup --manifests Benchmarks --profiles sandbox-profiles
