#!/usr/bin/env bash
# make dist: dist/pkgfetch-VERSION-linux-ARCH.tar.gz (+ .sha256) holding what make install puts
# under a prefix (bin/, share/), built from the committed HEAD only: `git archive HEAD` into
# .build-dist/src, never the working tree. Reproducible: the same commit gives the same bytes, because
#  - the build uses the dependency versions of this checkout's Package.resolved, maps its paths to
#    /pkgfetch in what the compiler records, and takes the commit as the binary's build ID;
#  - swiftc's per-compile .swift_modhash section is removed with the debug info;
#  - every file's time is the commit's (SOURCE_DATE_EPOCH), the man page's date too;
#  - tar stores names sorted, owner 0:0 and no extra headers; gzip stores no name or time.
#   scripts/dist.sh [BINARY]   (a BINARY skips the release build: the tests package the debug one)
set -euo pipefail
umask 022   # modes in the tarball do not depend on the caller's umask
SWIFT=${SWIFT:-swift}
RELEASE_FLAGS=${RELEASE_FLAGS:--c release --static-swift-stdlib --disable-local-rpath}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${DIST_WORK:-$ROOT/.build-dist}
OUT=${DIST_DIR:-$ROOT/dist}
cd "$ROOT"

version=$(git show HEAD:Sources/PkgfetchCommand/VersionReport.swift | sed -n 's/^ *static let number = "\(.*\)"$/\1/p')
[ -n "$version" ] || { echo "dist: no version in Sources/PkgfetchCommand/VersionReport.swift" >&2; exit 1; }
name=pkgfetch-$version-linux-$(uname -m)
commit=$(git rev-parse HEAD)
export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "dist: note: uncommitted changes are not in the tarball (it is built from HEAD, $(git rev-parse --short HEAD))" >&2
fi

rm -rf "$WORK/src" "$WORK/stage"
mkdir -p "$WORK/src" "$WORK/stage" "$OUT"
git archive --format=tar HEAD | tar -x -C "$WORK/src"
[ -f Package.resolved ] && cp Package.resolved "$WORK/src/"

if [ $# -ge 1 ] && [ -n "$1" ]; then
  binary=$(realpath "$1")
else
  # shellcheck disable=SC2086
  (cd "$WORK/src" && "$SWIFT" build $RELEASE_FLAGS --scratch-path "$WORK/scratch" \
    -Xswiftc -file-prefix-map -Xswiftc "$WORK=/pkgfetch" -Xcc "-ffile-prefix-map=$WORK=/pkgfetch" \
    -Xlinker "--build-id=0x$commit")
  binary=$WORK/scratch/release/pkgfetch
fi

# The man page tool: built once from this checkout's argument-parser (the same version).
(cd "$WORK/src" && TOOLS_FROM=$ROOT bash scripts/install.sh "$WORK/stage/$name" "$binary" >/dev/null)
# Debug info and symbols out (51 MB -> 22 MB, and no build paths): a node image carries the binary.
# A crash address is read against the unstripped build, $WORK/scratch/release/pkgfetch, which the same
# commit rebuilds byte for byte; its GNU build ID is the commit, so a core file names what to rebuild.
# Also out: the .swift_modhash section, 16 bytes per Swift object that swiftc fills differently on
# every compile (it serves incremental builds only); it was all that differed between two builds of
# one commit, with the GNU build ID computed over it, which is why the build ID is the commit's instead.
strip --strip-all --remove-section=.swift_modhash "$WORK/stage/$name/bin/pkgfetch"
install -d "$WORK/stage/$name/share/doc/pkgfetch"
install -m 0644 "$WORK/src/README.md" "$WORK/stage/$name/share/doc/pkgfetch/README.md"

tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$WORK/stage" -cf - "$name" | gzip -9n > "$OUT/$name.tar.gz.tmp"
mv "$OUT/$name.tar.gz.tmp" "$OUT/$name.tar.gz"
(cd "$OUT" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
cat "$OUT/$name.tar.gz.sha256"
