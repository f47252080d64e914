#!/usr/bin/env bash
# make bench: pkgfetch against curl, aria2c, the oras Python client, skopeo and bsdtar, in one run on
# loopback, and through nginx capping each connection (50 and 200 MiB/s); start-up against curl's.
# Sizes: BENCH_BLOB_MB (1024), BENCH_UNPACK_MB (200), BENCH_SMALL_COUNT (50), BENCH_RUNS (5),
# BENCH_CAPPED_RUNS (BENCH_RUNS), BENCH_BATCH_LARGE (4) × BENCH_BATCH_LARGE_MB (256) + BENCH_BATCH_SMALL (20)
# × 1 MiB, BENCH_STARTUP_RUNS (50). BENCH_ONLY=startup,registry,cdn,capped,batch,e2e-capped,unpack,e2e,small
# picks cases (BENCH_CAPS=50m,200m the capped rates); PKGFETCH_BASELINE=/path/to/pkgfetch adds another build's rows.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=lib-servers.sh
source "$HERE/lib-servers.sh"
cd "$ROOT"
build_static_pkgfetch "$ROOT"
WORK=$(mktemp -d /tmp/pkgfetch-bench.XXXXXX)
trap 'stop_servers; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/cdn"
start_nginx "$WORK" "$WORK/cdn"
start_registry "$WORK"
start_capped_nginx "$WORK" "$WORK/cdn" "$REGISTRY_PORT"
export PKGFETCH="$ROOT/.build-static/release/pkgfetch" WORK NGINX_PORT REGISTRY_PORT CAP50_PORT CAP200_PORT
python3 "$ROOT/Benchmarks/bench.py" "$@"
