#!/usr/bin/env bash
# make docs: the Pipeline library's DocC documentation (with the testing product's symbols), built
# with warnings as errors, and a check that every public declaration written by hand has a one-line
# abstract (what Swift synthesizes — Codable, Hashable, RawRepresentable — is not counted).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
graphs=.build-docs/symbol-graphs
out=.build-docs/Pipeline.doccarchive
rm -rf "$graphs" && mkdir -p "$graphs"
for target in Pipeline PipelineTesting; do
    "$SWIFT" build --scratch-path .build-docs --target "$target" \
        -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$graphs.all" >/dev/null
done
cp "$graphs.all"/Pipeline*.symbols.json "$graphs"/
docc=$(command -v docc || echo "$(dirname "$(command -v "$SWIFT")")/docc")
"$docc" convert Sources/Pipeline/Pipeline.docc --additional-symbol-graph-dir "$graphs" \
    --fallback-display-name Pipeline --fallback-bundle-identifier pkgfetch.Pipeline \
    --output-path "$out" --warnings-as-errors \
    --experimental-documentation-coverage --coverage-summary-level detailed > .build-docs/coverage.txt
missing=$(awk -F'|' '$3 ~ /false/' .build-docs/coverage.txt \
    | grep -v -E 'Operator|CollectionGroup|Module|Article|hashValue|hash\(into:\)|encode\(to:\)|init\(from:\)|init\(rawValue:\)|localizedDescription|asUnownedTaskExecutor' || true)
if [ -n "$missing" ]; then
    echo "docs: public declarations without a one-line abstract:" >&2
    echo "$missing" | awk -F'|' '{print "  " $NF}' | sed 's#doc://pkgfetch.Pipeline/documentation/##' >&2
    exit 1
fi
echo "docs: $out (no warnings; every public declaration has an abstract)"
