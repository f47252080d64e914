#!/usr/bin/env bash
# make fuzz: builds Fuzz/ (libFuzzer + AddressSanitizer) and runs each target for FUZZ_SECONDS
# (default 10: eleven targets, about two minutes after the build), growing a working corpus in
# Fuzz/.corpus (not committed; kept from run to run, so each run starts where the last one ended;
# `make clean` drops it) from the committed seeds in Fuzz/Seeds. Every input that crashes,
# leaks, hangs or exhausts memory is copied into Fuzz/Regressions/<target>/, which the test
# FuzzRegressionTests replays on every `make test`: commit it with its fix. Exits 1 when something
# was found. FUZZ_TARGETS="url batch" runs some targets only.
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
PER_TARGET=${FUZZ_SECONDS:-10}
TARGETS=${FUZZ_TARGETS:-reference challenge manifest rules url batch jwt http unpack hosts components}

echo "fuzz: building Fuzz/ with -sanitize=fuzzer,address (the first build takes minutes)"
"$SWIFT" build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >/dev/null || {
  echo "fuzz: the build failed; run: $SWIFT build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library" >&2
  exit 2
}
BINARY=$(cd Fuzz && "$SWIFT" build --show-bin-path -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)/pkgfetch-fuzz

found=0
printf '%-10s %6s %10s %8s %6s %6s %6s %s\n' target s execs exec/s cov ft corpus findings
for target in $TARGETS; do
  corpus=Fuzz/.corpus/$target artifacts=Fuzz/.artifacts/$target log=Fuzz/.artifacts/$target.log
  rm -rf "$artifacts"
  mkdir -p "$corpus" "$artifacts" "Fuzz/Regressions/$target"
  # Swift's own crash backtracer would race ASan's report; libFuzzer reports the crash. No leak checks:
  # the Swift runtime's lazily filled caches make malloc and free counts differ after most inputs, and
  # libFuzzer then runs a full leak scan each time (50 ms: the unpacker ran 10 inputs a second instead
  # of hundreds), to report the regex runtime's one-time allocations. Memory growth still shows as oom.
  started=$SECONDS
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 PKGFETCH_FUZZ_TARGET=$target "$BINARY" -max_total_time="$PER_TARGET" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -detect_leaks=0 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "Fuzz/Seeds/$target" >"$log" 2>&1
  took=$((SECONDS - started))
  findings=0
  for input in "$artifacts"/*; do
    [ -f "$input" ] || continue
    cp "$input" "Fuzz/Regressions/$target/"
    findings=$((findings + 1))
  done
  found=$((found + findings))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  note=$findings; ((findings)) && note="$findings (see $log)"
  printf '%-10s %6s %10s %8s %6s %6s %6s %s\n' "$target" "$took" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "$(find "$corpus" -type f | wc -l)" "$note"
done
if ((found)); then
  echo "fuzz: $found finding(s) copied to Fuzz/Regressions/; FuzzRegressionTests replays them" >&2
  exit 1
fi
