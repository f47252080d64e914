# Shared by demo and bench: loopback nginx and docker-registry, started in a work dir, stopped on exit.
# shellcheck shell=bash

# build_static_pkgfetch ROOT -> sets PKGFETCH: the release binary the benchmarks run. Only the product:
# a release build of every target fails on TestSupport, which imports Testing.
build_static_pkgfetch() {
  (cd "$1" && swift build -c release --static-swift-stdlib --scratch-path .build-static --product pkgfetch >/dev/null)
  PKGFETCH="$1/.build-static/release/pkgfetch"
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

wait_port() {
  local port=$1
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$port" >&2; return 1
}

# nginx_preamble DIR WORKERS: the start of an nginx.conf run as root in the foreground, its pid,
# logs and temp paths in DIR, up to the open `http {` block.
nginx_preamble() {
  local dir=$1 workers=$2
  cat <<CONF
user root;
daemon off;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  sendfile on;
CONF
}

# start_nginx WORK ROOT -> sets NGINX_PORT; NGINX_ACCESS_LOG=FILE logs each request there.
start_nginx() {
  local work=$1 root=$2
  NGINX_PORT=$(free_port)
  mkdir -p "$work/nginx"
  { nginx_preamble "$work/nginx" 1; cat <<CONF
  server {
    listen 127.0.0.1:$NGINX_PORT; root $root; access_log ${NGINX_ACCESS_LOG:-off};
    # /slow/… serves the same files at 2 MB/s: a slow link, for the demo's interrupted download.
    location /slow/ { alias $root/; limit_rate 2m; }
  }
}
CONF
  } > "$work/nginx/nginx.conf"
  nginx -c "$work/nginx/nginx.conf" &
  PIDS+=($!)
  wait_port "$NGINX_PORT"
}

# start_registry WORK -> sets REGISTRY_PORT; REGISTRY_LOG_LEVEL=info logs each request to WORK/registry/log.
start_registry() {
  local work=$1
  REGISTRY_PORT=$(free_port)
  mkdir -p "$work/registry/data"
  cat > "$work/registry/config.yml" <<CONF
version: 0.1
log: { level: ${REGISTRY_LOG_LEVEL:-error} }
storage: { filesystem: { rootdirectory: $work/registry/data }, delete: { enabled: true } }
http: { addr: 127.0.0.1:$REGISTRY_PORT }
CONF
  docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
  PIDS+=($!)
  wait_port "$REGISTRY_PORT"
}

# start_capped_nginx WORK ROOT REGISTRY_PORT -> sets CAP50_PORT, CAP200_PORT: nginx whose every
# connection is capped at 50 or 200 MiB/s for its whole life (scripts/pace.c, preloaded: the kernel
# paces the socket), as a CDN or blob storage caps one stream. It serves ROOT as a CDN and proxies
# /v2/ to the registry, so registry blobs come capped too. (nginx's limit_rate is not used: it lets
# each request send a second's worth at once, so short range requests would pass uncapped.)
start_capped_nginx() {
  local work=$1 root=$2 registry_port=$3 servers="" rates=""
  mkdir -p "$work/capped"
  cc -O2 -shared -fPIC -o "$work/capped/pace.so" "$(dirname "${BASH_SOURCE[0]}")/pace.c" -ldl
  CAP50_PORT=$(free_port)
  CAP200_PORT=$(free_port)
  for pair in "$CAP50_PORT $((50 << 20))" "$CAP200_PORT $((200 << 20))"; do
    set -- $pair
    rates+="${rates:+,}$1=$2"
    servers+="
  server {
    listen 127.0.0.1:$1; root $root;
    location /v2/ { proxy_pass http://registry; proxy_buffering off; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host \$http_host; }
  }"
  done
  { echo "env PACE_RATES;"; nginx_preamble "$work/capped" 2; cat <<CONF
  # Kept-alive connections to the registry, as a front door in front of one keeps them.
  upstream registry { server 127.0.0.1:$registry_port; keepalive 16; }
$servers
}
CONF
  } > "$work/capped/nginx.conf"
  PACE_RATES=$rates LD_PRELOAD="$work/capped/pace.so" nginx -c "$work/capped/nginx.conf" &
  PIDS+=($!)
  wait_port "$CAP50_PORT"
  wait_port "$CAP200_PORT"
}

# oras_push HOSTPORT REPO:TAG FILE — pushes FILE as `oras push` does (python oras client, titled by base name).
oras_push() {
  local host=$1 target=$2 file=$3
  (cd "$(dirname "$file")" && python3 - "$host" "$target" "$(basename "$file")" <<'PY'
import sys, oras.client, logging
logging.disable(logging.CRITICAL)
host, target, name = sys.argv[1:4]
oras.client.OrasClient(hostname=host, insecure=True).push(files=[name], target=f"{host}/{target}", disable_path_validation=True)
PY
  ) >/dev/null
}

stop_servers() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
PIDS=()
