#!/usr/bin/env bash
# Compares two pkgfetch binaries on the unpack benchmark's package (200 MiB, ~2000 files, as zip and
# tar.gz), through the whole tool (cache → verify → unpack → install), runs paired and interleaved:
# each round runs both binaries back to back, in alternating order, so that the load other work puts
# on a shared machine lands on both alike. Prints the medians and the median of the per-round ratios
# B/A, of CPU time (user + system) and of wall time. On a busy machine the per-round ratio is the
# number to read; single medians swing by a factor of two there.
#
# usage: scripts/bench-unpack-ab.sh A B [ROUNDS]     e.g. a build of main as A, of a branch as B
set -euo pipefail
a=${1:?usage: bench-unpack-ab.sh A B [ROUNDS]}
b=${2:?usage: bench-unpack-ab.sh A B [ROUNDS]}
rounds=${3:-12}
top=$(cd "$(dirname "$0")/.." && pwd)
for tool in bsdtar python3; do
    command -v "$tool" >/dev/null || { echo "bench-unpack-ab: $tool is missing (apt-get install libarchive-tools python3)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench-unpack-ab: GNU time is missing (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pkgfetch-ab.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$top/scripts/make-sample-tree.py" "$work/tree" >&2
mkdir -p "$work/cache"
bsdtar --format zip -cf "$work/cache/package.zip" -C "$work/tree" .
bsdtar -czf "$work/cache/package.tar.gz" -C "$work/tree" .
rm -rf "$work/tree"

for round in $(seq 1 "$rounds"); do
    order="A B"; [ $((round % 2)) = 0 ] && order="B A"
    for archive in package.tar.gz package.zip; do
        for side in $order; do
            binary=$a; [ "$side" = B ] && binary=$b
            rm -rf "$work/dest"; sync
            /usr/bin/time -a -o "$work/times" -f "$round $side $archive %e %U %S" \
                "$binary" fetch "https://packages.invalid/bench/$archive" --cache-dir "$work/cache" --dest "$work/dest" >/dev/null
        done
    done
done

python3 - "$work/times" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 6:
        round_, side, archive, wall, user, system = parts
        runs[(archive, round_)][side] = (float(wall), float(user) + float(system))
for archive in ["package.tar.gz", "package.zip"]:
    paired = [v for (name, _), v in runs.items() if name == archive and len(v) == 2]
    for index, what in [(1, "cpu"), (0, "wall")]:
        a = [v["A"][index] for v in paired]
        b = [v["B"][index] for v in paired]
        ratio = statistics.median(v["B"][index] / v["A"][index] for v in paired)
        print(f"{archive:15s} {what:4s}  A {statistics.median(a):.3f} s  B {statistics.median(b):.3f} s  B/A per round {ratio:.3f}  ({len(paired)} rounds)")
EOF
