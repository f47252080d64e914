#!/usr/bin/env bash
# make install: the binary, shell completions (bash, zsh, fish) and a man page under ROOT
# (= $DESTDIR$PREFIX), in the places distributions use. Completions and the man page come from the
# binary itself (argument-parser's --generate-completion-script and its generate-manual tool), so they
# always match its flags. The man page's date is SOURCE_DATE_EPOCH's when set (make dist sets it to
# the commit's), so the same commit gives the same page.
#   scripts/install.sh ROOT BINARY
set -euo pipefail
ROOT=$1
BINARY=$2
SWIFT=${SWIFT:-swift}
HERE=$(cd "$(dirname "$0")/.." && pwd)
# The man page tool is built from the argument-parser that TOOLS_FROM (default: this package) resolved,
# once, in its .build.
TOOLS_FROM=${TOOLS_FROM:-$HERE}
TOOL_SCRATCH=$TOOLS_FROM/.build/generate-manual

[ -x "$BINARY" ] || { echo "install: no binary at $BINARY (build it first, or set PKGFETCH_BINARY)" >&2; exit 1; }
# Not `swift package show-dependencies`: it would wait on the lock of a `swift test` running the tests
# that call make install.
parser=$TOOLS_FROM/.build/checkouts/swift-argument-parser
[ -d "$parser" ] || (cd "$TOOLS_FROM" && "$SWIFT" package resolve)
"$SWIFT" build --package-path "$parser" --scratch-path "$TOOL_SCRATCH" --product generate-manual -q >&2
manual=$TOOL_SCRATCH/debug/generate-manual

install -d "$ROOT/bin" "$ROOT/share/bash-completion/completions" "$ROOT/share/zsh/site-functions" \
  "$ROOT/share/fish/vendor_completions.d" "$ROOT/share/man/man1"
install -m 0755 "$BINARY" "$ROOT/bin/pkgfetch"
"$BINARY" --generate-completion-script bash > "$ROOT/share/bash-completion/completions/pkgfetch"
"$BINARY" --generate-completion-script zsh > "$ROOT/share/zsh/site-functions/_pkgfetch"
"$BINARY" --generate-completion-script fish > "$ROOT/share/fish/vendor_completions.d/pkgfetch.fish"
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
"$manual" "$BINARY" --date "$date" --output-directory "$ROOT/share/man/man1"
# EXIT STATUS is the stable table (`pkgfetch exit-codes`), not generate-manual's "0 on success, >0 on
# error": scripts act on the codes. Passed through the environment, as awk -v would read escapes.
page=$ROOT/share/man/man1/pkgfetch.1
exit_table=$("$BINARY" exit-codes | awk '{ code = $1; name = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); gsub(/\\/, "\\e")
  printf ".It %s\n\\&%s: %s\n", code, name, $0 }')
# The header names the manual as Linux pages do ("General Commands Manual", not groff's "BSD General
# Commands Manual"; groff takes the volume from this string, mandoc ignores it) and the footer names
# pkgfetch and its version (.Os). ENVIRONMENT and FILES go before EXIT STATUS, EXAMPLES after it
# (mdoc's order), from the two files beside this script.
# generate-manual leaves out the options' defaults: each option's text gets its "(default: …)", as
# --help shows it, from the binary's own description of its flags (subcommand, option, default).
command -v jq >/dev/null || { echo "install: jq is needed for the man page's defaults (apt-get install jq)" >&2; exit 1; }
defaults=$(mktemp)
trap 'rm -f "$defaults"' EXIT
"$BINARY" --experimental-dump-help | jq -r '.command.subcommands[] | .commandName as $c | .arguments[]?
  | select(.defaultValue != null and .kind == "option") | "\($c)\t\(.preferredName.name)\t\(.defaultValue)"' > "$defaults"
version=$("$BINARY" --version | head -n 1 | awk '{ print $2 }')
EXIT_TABLE=$exit_table VERSION=$version awk -v sections="$HERE/scripts/pkgfetch.1.sections" \
  -v examples="$HERE/scripts/pkgfetch.1.examples" -v defaults="$defaults" '
  function include(file,   line) { while ((getline line < file) > 0) print line; close(file) }
  BEGIN { FS = "\t"; while ((getline line < defaults) > 0) { split(line, f, "\t"); fallback[f[1] SUBSEP f[2]] = f[3] }; FS = " " }
  /^\.It Em / { command = $3 }
  /^\.It Fl / { option = ""; for (i = 3; i <= NF; i++) if ($i ~ /^-[a-z0-9]/) option = substr($i, 2); pending = 1; print; next }
  pending && !/^\./ { pending = 0; if ((command SUBSEP option) in fallback) $0 = $0 " (default: " fallback[command SUBSEP option] ")" }
  $0 == "" { print ".Pp"; next }
  /^\.Dt / { print; print ".ds doc-volume General Commands Manual"; next }
  $0 == ".Os" { print ".Os pkgfetch " ENVIRON["VERSION"]; next }
  /^\.Sh "?EXIT STATUS"?$/ { include(sections); print; in_exit = 1; next }
  /^\.Sh / && in_exit { include(examples); in_exit = 0 }
  $0 == ".Ex -std" {
    print "The exit codes are stable; \\fBpkgfetch exit-codes\\fR prints this table (\\fB--json\\fR as JSON)."
    print ".Bl -tag -width 4n -compact"; print ENVIRON["EXIT_TABLE"]; print ".El"; next }
  { print }
  END { if (in_exit) include(examples) }' "$page" > "$page.tmp"
mv "$page.tmp" "$page"
chmod 0644 "$ROOT"/share/bash-completion/completions/pkgfetch "$ROOT"/share/zsh/site-functions/_pkgfetch \
  "$ROOT"/share/fish/vendor_completions.d/pkgfetch.fish "$ROOT"/share/man/man1/pkgfetch.1
echo "installed pkgfetch into $ROOT"
