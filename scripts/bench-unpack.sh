#!/usr/bin/env bash
# Times pkgfetch's unpacker against `bsdtar -xf` and `unzip -q` on a 200 MiB package of ~2000 files,
# as a zip and as a tar.gz, and prints the medians as a Markdown table.
#
# The timing itself is the UnpackBenchmark test of a release build (pkgfetch's side runs in process,
# so the CLI is not needed; bsdtar and unzip run as processes), with runs of the tools interleaved
# so that load from other work on the machine falls on all of them alike.
#
# Every run unpacks into a fresh directory on the same file system, after a `sync`.
#
# usage: scripts/bench-unpack.sh [RUNS]      (default 5 runs per tool and archive, after one warm-up)
set -euo pipefail
runs=${1:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

for tool in bsdtar unzip python3 swift; do
    if ! command -v "$tool" >/dev/null; then
        echo "bench-unpack: $tool is missing (apt-get install libarchive-tools unzip python3)" >&2
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pkgfetch-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "bench-unpack: writing the sample package in $work" >&2
python3 scripts/make-sample-tree.py "$work/tree" >&2
bsdtar --format zip -cf "$work/package.zip" -C "$work/tree" .
bsdtar -czf "$work/package.tar.gz" -C "$work/tree" .
rm -rf "$work/tree"

# A release build: `swift test -c release` builds the package optimized (with testable imports, which the
# test target needs), so a separate `swift build -c release` would only build it a second time.
echo "bench-unpack: building (release) and timing" >&2
PKGFETCH_BENCH_ARCHIVES="$work/package.zip:$work/package.tar.gz" PKGFETCH_BENCH_RUNS="$runs" \
PKGFETCH_BENCH_OUT="$work/results.json" PKGFETCH_BENCH_SCRATCH="$work" \
    swift test -c release --filter UnpackersTests.UnpackBenchmark >&2

median() {
    python3 -c 'import json, statistics, sys
runs = json.load(open(sys.argv[1])).get(sys.argv[2], {}).get(sys.argv[3])
print(f"{statistics.median(runs):.3f}" if runs else "n/a")' "$work/results.json" "$work/$1" "$2"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
size() { du -m "$work/$1" | cut -f1; }

table() {  # $1: "" for wall time, " cpu" for CPU time
    local zip_ours zip_bsdtar zip_unzip tgz_ours tgz_bsdtar
    zip_ours=$(median package.zip "pkgfetch$1"); zip_bsdtar=$(median package.zip "bsdtar$1"); zip_unzip=$(median package.zip "unzip$1")
    tgz_ours=$(median package.tar.gz "pkgfetch$1"); tgz_bsdtar=$(median package.tar.gz "bsdtar$1")
    echo "| archive | pkgfetch | bsdtar -xf | unzip -q | pkgfetch / bsdtar |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    echo "| zip ($(size package.zip) MiB) | $zip_ours | $zip_bsdtar | $zip_unzip | $(ratio "$zip_ours" "$zip_bsdtar") |"
    echo "| tar.gz ($(size package.tar.gz) MiB) | $tgz_ours | $tgz_bsdtar | n/a | $(ratio "$tgz_ours" "$tgz_bsdtar") |"
}

echo
echo "Wall time, median of $runs runs (seconds); package: 2000 entries, ~200 MiB unpacked."
echo
table ""
echo
echo "CPU time (user + system), median of $runs runs (seconds)."
echo
table " cpu"
