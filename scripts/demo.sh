#!/usr/bin/env bash
# make demo: sample packages served on loopback by a CDN stand-in (nginx) and a bootstrap registry
# (docker-registry, artifacts pushed with the oras Python client), fetched by pkgfetch each way.
set -uo pipefail
PKGFETCH=$(realpath "${1:-.build/release/pkgfetch}")
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-servers.sh
source "$HERE/lib-servers.sh"

WORK=$(mktemp -d /tmp/pkgfetch-demo.XXXXXX)
trap 'stop_servers; rm -rf "$WORK"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ pkgfetch %s\n' "$*" | sed "s#$WORK#\$WORK#g"; "$PKGFETCH" "$@"; local rc=$?; echo "(exit $rc)"; return 0; }

say "Making sample packages"
CDN=$WORK/cdn
mkdir -p "$CDN/azure-cni/v1.6.20/binaries" "$CDN/kubernetes/v1.33.7/binaries" "$WORK/src/kube/kubernetes/node/bin"
python3 - "$CDN/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("azure-vnet.exe", b"MZ" + b"\0" * 4096)
    z.writestr("azure-vnet-ipam.exe", b"MZ" + b"\1" * 4096)
    z.writestr("10-azure.conflist", '{"cniVersion": "0.3.0", "name": "azure"}')
PY
printf '#!/bin/sh\necho "kubelet v1.33.7 (demo build) runs"\n' > "$WORK/src/kube/kubernetes/node/bin/kubelet"
chmod 755 "$WORK/src/kube/kubernetes/node/bin/kubelet"
tar -C "$WORK/src/kube" -czf "$CDN/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz" kubernetes
K8S_SHA=$(sha256sum "$CDN/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz" | cut -d' ' -f1)
CNI_URL=https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip
find "$CDN" -type f | sed "s#$WORK#  \$WORK#"

say "Starting nginx (the CDN) and docker-registry (the bootstrap registry) on loopback"
start_nginx "$WORK" "$CDN"
start_registry "$WORK"
oras_push "127.0.0.1:$REGISTRY_PORT" aks/packages/azure/azure-vnet-cni:v1.6.20 "$CDN/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip"
echo "  CDN:      http://127.0.0.1:$NGINX_PORT/"
echo "  registry: 127.0.0.1:$REGISTRY_PORT (pushed aks/packages/azure/azure-vnet-cni:v1.6.20 with the oras client)"

say "The plan for a CNI URL, with and without a bootstrap registry"
run resolve "$CNI_URL" --bootstrap-registry "127.0.0.1:$REGISTRY_PORT"
run resolve "$CNI_URL"

say "CDN path: download over HTTP, check the digest, unpack into a directory"
run fetch "http://127.0.0.1:$NGINX_PORT/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz" \
    --sha256 "$K8S_SHA" --dest "$WORK/node/k8s" --progress plain
"$WORK/node/k8s/kubernetes/node/bin/kubelet"

say "Network-isolated path: the same CNI URL pulled from the bootstrap registry (no oras binary)"
run fetch "$CNI_URL" --bootstrap-registry "127.0.0.1:$REGISTRY_PORT" --dest "$WORK/node/cni-bin"
ls -l "$WORK/node/cni-bin" | sed "s#$WORK#\$WORK#g"

say "Registry down, --fallback-to-cdn: the CDN serves it"
run fetch "http://127.0.0.1:$NGINX_PORT/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip" \
    --bootstrap-registry "127.0.0.1:$(free_port)" --fallback-to-cdn --retries 1 --retry-delay 200ms \
    --output "$WORK/node/fallback/azure-vnet-cni.zip" --quiet --json

say "Pre-cached package: found in --cache-dir, no network"
mkdir -p "$WORK/cache/packages"
cp "$CDN/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz" "$WORK/cache/packages/"
run fetch https://packages.aks.azure.com/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz \
    --cache-dir "$WORK/cache" --output "$WORK/node/cached.tar.gz"

say "A signed URL: the query (a secret) never reaches events or messages"
run fetch "http://127.0.0.1:$NGINX_PORT/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz?sv=2024&sig=SECRET-SIGNATURE" \
    --output "$WORK/node/signed.tar.gz" --events "$WORK/events.jsonl" --quiet
sed "s#$WORK#\$WORK#g" "$WORK/events.jsonl"
grep -q SECRET-SIGNATURE "$WORK/events.jsonl" && echo "LEAK: the signature is in the events" || echo "(no SECRET-SIGNATURE in the events)"

say "A batch: a node's packages in one process (one connection, one registry login), one line each"
cat > "$WORK/node-packages.json" <<JSON
[{"url": "$CNI_URL", "dest": "$WORK/node/batch/cni-bin"},
 {"url": "https://packages.aks.azure.com/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz",
  "dest": "$WORK/node/batch/k8s", "sha256": "$K8S_SHA"},
 {"url": "https://packages.aks.azure.com/azure-cni/v9.9.9/binaries/azure-vnet-cni-windows-amd64-v9.9.9.zip",
  "output": "$WORK/node/batch/missing.zip"}]
JSON
run batch "$WORK/node-packages.json" --bootstrap-registry "127.0.0.1:$REGISTRY_PORT" --cache-dir "$WORK/cache" --retries 0

say "Stopped mid-download (SIGTERM): exit 130, the old file stays, no staging left behind"
head -c 64000000 /dev/urandom > "$CDN/kubernetes/v1.33.7/binaries/big.tar.gz"
echo "old content" > "$WORK/node/big.tar.gz"
# One connection: nginx's limit_rate caps a connection's rate, but short range requests pass it
# uncapped, so over several connections this "slow" download would be done before the signal.
printf '$ pkgfetch fetch http://127.0.0.1:%s/slow/kubernetes/v1.33.7/binaries/big.tar.gz --connections 1 --output $WORK/node/big.tar.gz &  # 2 MB/s\n' "$NGINX_PORT"
"$PKGFETCH" fetch "http://127.0.0.1:$NGINX_PORT/slow/kubernetes/v1.33.7/binaries/big.tar.gz" --connections 1 --output "$WORK/node/big.tar.gz" &
fetch_pid=$!
sleep 2
ls -a "$WORK/node" | grep -q pkgfetch-staging && echo "(a staging directory holds the partial download)"
kill -TERM "$fetch_pid"; wait "$fetch_pid"; echo "(exit $?)"
if [ "$(stat -c %s "$WORK/node/big.tar.gz")" -lt 100 ]; then cat "$WORK/node/big.tar.gz"; else echo "UNEXPECTED: the file was replaced"; fi
ls -a "$WORK/node" | grep -q pkgfetch-staging && echo "LEFT: a staging directory" || echo "(no staging directory left)"
rm -f "$CDN/kubernetes/v1.33.7/binaries/big.tar.gz"

say "A wrong digest: exit 50, the installed files stay as they were"
run fetch "http://127.0.0.1:$NGINX_PORT/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz" \
    --sha256 "$(printf '0%.0s' {1..64})" --dest "$WORK/node/k8s" --retries 0
"$WORK/node/k8s/kubernetes/node/bin/kubelet"

say "Done"
