#!/usr/bin/env bash
# Installs what building and testing pkgfetch needs on Debian 12, as root. Idempotent and quick
# when everything is there: apt runs only if a package is missing.
set -euo pipefail

debs=(pkg-config libcurl4-openssl-dev libarchive-dev docker-registry nginx skopeo libarchive-tools
      apache2-utils openssl time hyperfine zip unzip zstd xz-utils python3 python3-pip curl strace aria2 jq binutils)
missing=()
for deb in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The oras Python client pushes test artifacts, as an independent client would.
if ! python3 -c 'import oras.client' 2>/dev/null; then
  echo "setup: pip install oras"
  python3 -m pip install -q oras 2>/dev/null || python3 -m pip install -q --break-system-packages oras
fi
echo "setup: ok"
