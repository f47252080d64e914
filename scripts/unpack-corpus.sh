#!/usr/bin/env bash
# Runs pkgfetch's unpacker, through the CLI (cache → verify → unpack → install), over every archive it
# can find that nobody here wrote, and counts what matters for safety: crashes, hangs, files outside
# the destination, debris (staging left behind), and how often pkgfetch and bsdtar disagree.
#
# The corpus: archives on this machine (*.tar*, *.tgz, *.zip, *.whl, *.jar, *.egg, *.deb outside
# /proc, /sys, /work and /tmp), plus the .deb packages `apt-get download` fetches for the names in
# CORPUS_DEBS, each also split into its control.tar.* and data.tar.* (what a .deb really carries).
#
# Each archive is copied into a fresh sandbox as the cache entry of a made-up URL and unpacked with
# `--dest`, under `timeout -s KILL` and GNU time. Afterwards:
#   crash    exit status 1 (internal) or a signal;      hang   killed by the timeout;
#   outside  anything new in the sandbox but the destination and the cache, or a symlink in the
#            destination that resolves outside it;
#   debris   a .pkgfetch-staging-* directory left, or a half destination after a failure;
#   differs  pkgfetch installed, bsdtar -xf extracted, and the trees' file lists or contents differ.
#
# usage: scripts/unpack-corpus.sh [OUT_DIR]     (env: PKGFETCH, CORPUS_TIMEOUT=120, CORPUS_DEBS="…")
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
pkgfetch=${PKGFETCH:-$top/.build/debug/pkgfetch}
timeout_s=${CORPUS_TIMEOUT:-120}
out=${1:-$(mktemp -d "${TMPDIR:-/tmp}/pkgfetch-corpus.XXXXXX")}
debs=${CORPUS_DEBS:-"hello coreutils tar xz-utils zstd unzip curl libarchive13 ca-certificates tzdata python3-six iproute2 iptables conntrack socat containerd runc"}

for tool in bsdtar python3 timeout ar; do
    command -v "$tool" >/dev/null || { echo "unpack-corpus: $tool is missing (apt-get install libarchive-tools python3 coreutils binutils)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "unpack-corpus: GNU time is missing (apt-get install time)" >&2; exit 1; }
[ -x "$pkgfetch" ] || { echo "unpack-corpus: $pkgfetch not built (swift build)" >&2; exit 1; }

mkdir -p "$out/debs" "$out/split" "$out/runs"
list="$out/corpus.txt"
find / -xdev \( -path /proc -o -path /sys -o -path /work -o -path /tmp -o -path "$out" \) -prune -o -type f \
    \( -name '*.tar' -o -name '*.tar.gz' -o -name '*.tgz' -o -name '*.tar.xz' -o -name '*.tar.bz2' -o -name '*.tar.zst' \
       -o -name '*.zip' -o -name '*.whl' -o -name '*.jar' -o -name '*.egg' -o -name '*.deb' \) -print 2>/dev/null > "$list"

# apt-get download writes into the current directory.
(cd "$out/debs" && for name in $debs; do apt-get download "$name" >/dev/null 2>&1 || echo "unpack-corpus: apt-get download $name failed" >&2; done)
for deb in "$out"/debs/*.deb; do
    [ -e "$deb" ] || continue
    echo "$deb" >> "$list"
    dir="$out/split/$(basename "$deb" .deb)"
    mkdir -p "$dir" && (cd "$dir" && ar x "$deb") && ls "$dir"/control.tar.* "$dir"/data.tar.* >> "$list" 2>/dev/null
done

results="$out/results.tsv"
printf 'index\tstatus\tseconds\tpeak_kib\tverdict\tbsdtar\tarchive\tmessage\n' > "$results"
index=0
while IFS= read -r archive; do
    index=$((index + 1))
    name=$(basename "$archive")
    # Keep the extension (the format hint); drop every other byte a URL would need escaped.
    safe="a$index-$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_')"
    box="$out/runs/$index"
    mkdir -p "$box/cache" "$box/parent"
    cp "$archive" "$box/cache/$safe"
    before=$(cd "$box" && find . | sort)
    /usr/bin/time -o "$box/time" -f '%e %M' timeout -s KILL "$timeout_s" \
        "$pkgfetch" fetch "https://packages.invalid/corpus/$safe" --cache-dir "$box/cache" --dest "$box/parent/dest" \
        > "$box/stdout" 2> "$box/stderr"
    status=$?
    read -r seconds peak < <(tail -1 "$box/time" | grep -E '^[0-9.]+ [0-9]+$' || echo "? ?")

    verdict=ok
    if [ "$status" -eq 137 ] || grep -q 'Command terminated by signal 9' "$box/time"; then verdict=hang
    elif [ "$status" -eq 1 ] || [ "$status" -gt 128 ]; then verdict=crash
    elif [ "$status" -ne 0 ]; then verdict="refused-$status"; fi

    # Outside: anything new besides the destination's own tree.
    after=$(cd "$box" && find . -path ./parent/dest -prune -o -print | sort)
    new=$(comm -13 <(echo "$before") <(echo "$after") | grep -v -e '^\./parent$' -e '^\./time$' -e '^\./stdout$' -e '^\./stderr$' -e '^\./parent/dest$' || true)
    escaping=$( [ -d "$box/parent/dest" ] && python3 - "$box/parent/dest" <<'EOF'
import os, sys
root = os.path.realpath(sys.argv[1])
for path, dirs, files in os.walk(root):
    for name in dirs + files:
        full = os.path.join(path, name)
        if os.path.islink(full):
            target = os.path.realpath(full)
            if target != root and not target.startswith(root + os.sep):
                print(full)
EOF
    )
    if [ -n "$new" ] || [ -n "$escaping" ]; then
        verdict="$verdict+outside"
        { echo "$new"; echo "$escaping"; } > "$box/outside"
    fi
    if ls -a "$box/parent" | grep -q '^\.pkgfetch-staging'; then verdict="$verdict+debris"; fi
    if [ "$status" -ne 0 ] && [ -e "$box/parent/dest" ]; then verdict="$verdict+debris"; fi

    # bsdtar's view, and whether the trees agree when both extracted.
    mkdir -p "$box/bsdtar"
    if timeout -s KILL "$timeout_s" bsdtar -xf "$archive" -C "$box/bsdtar" >/dev/null 2>&1; then bsd=ok; else bsd=failed; fi
    if [ "$status" -eq 0 ] && [ "$bsd" = ok ]; then
        if ! diff -r --no-dereference "$box/parent/dest" "$box/bsdtar" > "$box/diff" 2>&1; then
            bsd=differs
            # A file placed as it is (a .deb is an ar archive bsdtar reads, pkgfetch does not) is no difference.
        fi
    fi

    message=$(tail -1 "$box/stderr" | tr '\t' ' ' | cut -c1-300)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$index" "$status" "$seconds" "$peak" "$verdict" "$bsd" "$archive" "$message" >> "$results"
    # Keep the sandbox only when something is worth looking at.
    case "$verdict" in ok|refused-60|refused-61) [ "$bsd" != differs ] && rm -rf "$box" ;; esac
done < "$list"

python3 - "$results" <<'EOF'
import collections, csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
count = collections.Counter
verdicts = count(r['verdict'] for r in rows)
print(f"archives: {len(rows)}")
for key in ['ok', 'refused-60', 'refused-61']:
    print(f"  {key}: {verdicts.get(key, 0)}")
for flag in ['crash', 'hang', 'outside', 'debris']:
    print(f"  {flag}: {sum(1 for r in rows if flag in r['verdict'])}")
print(f"  other exit codes: {sum(1 for r in rows if r['verdict'].startswith('refused-') and r['verdict'] not in ('refused-60', 'refused-61'))}")
print(f"bsdtar: extracted {sum(1 for r in rows if r['bsdtar'] != 'failed')}, failed {sum(1 for r in rows if r['bsdtar'] == 'failed')}")
print(f"  pkgfetch installed and the trees differ: {sum(1 for r in rows if r['bsdtar'] == 'differs')}")
print(f"  pkgfetch refused what bsdtar extracted: {sum(1 for r in rows if r['status'] != '0' and r['bsdtar'] != 'failed')}")
peaks = sorted(int(r['peak_kib']) for r in rows if r['peak_kib'].isdigit())
times = sorted(float(r['seconds']) for r in rows if r['seconds'].replace('.', '', 1).isdigit())
if peaks: print(f"peak RSS: median {peaks[len(peaks)//2]} KiB, max {peaks[-1]} KiB")
if times: print(f"wall: median {times[len(times)//2]:.2f} s, max {times[-1]:.2f} s")
print("refusal reasons:")
reasons = count()
for r in rows:
    if r['status'] in ('60', '61'):
        m = r['message']
        key = m.split('refused: ', 1)[-1] if 'refused: ' in m else m.split(': ', 2)[-1]
        reasons[key[:110]] += 1
for reason, n in reasons.most_common(15):
    print(f"  {n:4d}  {reason}")
EOF
echo "unpack-corpus: results in $results" >&2
