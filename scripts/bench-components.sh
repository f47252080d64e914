#!/usr/bin/env bash
# make bench-components: `pkgfetch components` over a whole list (BENCH_CDN_PACKAGES https entries,
# BENCH_REF_PACKAGES registry references, small files) against the scripts' way, one curl or oras
# process per package, one after the other, on the same loopback nginx and registry. BENCH_RUNS (5).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=lib-servers.sh
source "$HERE/lib-servers.sh"
build_static_pkgfetch "$ROOT"
WORK=$(mktemp -d /tmp/pkgfetch-bench-components.XXXXXX)
trap 'stop_servers; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/cdn"
NGINX_ACCESS_LOG="$WORK/nginx-access.log" start_nginx "$WORK" "$WORK/cdn"
REGISTRY_LOG_LEVEL=info start_registry "$WORK"
export PKGFETCH WORK NGINX_PORT REGISTRY_PORT
export NGINX_LOG="$WORK/nginx-access.log" REGISTRY_LOG="$WORK/registry/log"
python3 "$ROOT/Benchmarks/bench_components.py" "$@"
