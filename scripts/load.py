#!/usr/bin/env python3
"""make load: a fleet of pkgfetch processes started at the same moment against one registry.

N nodes (LOAD_NODES, 50; 200 with `make load LOAD_NODES=200`) pull one package through nginx, which
answers a share of requests (LOAD_FAULT_PERCENT, 25: half 429, half 503, both with Retry-After:
LOAD_RETRY_AFTER seconds, 2) before they reach the registry. Then the same fleet through a
pull-through cache (a second docker-registry with proxy.remoteurl) in front of the origin.

Each node is told apart by a header its own hosts.toml adds (`[header] x-fleet-node = "K"`), which
nginx logs, so requests per node and each retry's timing come from nginx's access log. Loopback
only; every server is stopped at the end; bounded by LOAD_TIMEOUT (240 s) per scenario.

Prints one Markdown table (the one in README) and a histogram of when retries arrived.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKGFETCH = os.environ.get("PKGFETCH", os.path.join(ROOT, ".build-static/release/pkgfetch"))
NODES = int(os.environ.get("LOAD_NODES", "50"))
FAULT_PERCENT = float(os.environ.get("LOAD_FAULT_PERCENT", "25"))
RETRY_AFTER = int(os.environ.get("LOAD_RETRY_AFTER", "2"))
RETRIES = int(os.environ.get("LOAD_RETRIES", "8"))
SIZE_MB = int(os.environ.get("LOAD_SIZE_MB", "4"))
TIMEOUT = float(os.environ.get("LOAD_TIMEOUT", "240"))
URL = "https://packages.aks.azure.com/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip"
FILE = "azure-vnet-cni-windows-amd64-v1.6.20.zip"
REPOSITORY = "aks/packages/azure/azure-vnet-cni"
BIN_SECONDS = 0.25


def require(tool, package):
    if shutil.which(tool) is None:
        sys.exit(f"load: '{tool}' is missing; install {package}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, process, what):
    end = time.monotonic() + 15
    while time.monotonic() < end:
        if process.poll() is not None:
            sys.exit(f"load: {what} exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"load: {what} does not listen on {port}")


class Servers:
    """Processes started here, stopped by their own pids."""

    def __init__(self, work):
        self.work = work
        self.processes = []

    def start(self, name, arguments, port):
        log = open(os.path.join(self.work, f"{name}.log"), "w")
        process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.processes.append(process)
        wait_port(port, process, name)
        return process

    def registry(self, name, proxy=None):
        port = free_port()
        root = os.path.join(self.work, name)
        os.makedirs(root, exist_ok=True)
        config = os.path.join(self.work, f"{name}.yml")
        with open(config, "w") as f:
            if proxy:
                f.write(f"proxy:\n  remoteurl: {proxy}\n")
            f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {root}\n"
                    f"http:\n  addr: 127.0.0.1:{port}\n  secret: load-test\n")
        self.start(name, ["docker-registry", "serve", config], port)
        return port

    def faulty_front(self, name, upstream):
        """nginx answering FAULT_PERCENT of requests with 429/503 + Retry-After, the rest proxied."""
        port = free_port()
        directory = os.path.join(self.work, name)
        os.makedirs(directory, exist_ok=True)
        half = FAULT_PERCENT / 2
        faults = f'{half:.2f}% "429"; {half:.2f}% "503"; * "";' if FAULT_PERCENT > 0 else '* "";'
        temp = "\n".join(f"  {kind}_temp_path {directory}/{kind};" for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
        config = f"""user root;
daemon off;
worker_processes 2;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 4096; }}
http {{
{temp}
  log_format fleet '$msec $request_time $http_x_fleet_node $request_method $uri $status $upstream_addr';
  access_log {directory}/access.log fleet;
  split_clients "${{request_id}}" $fault {{ {faults} }}
  proxy_http_version 1.1;
  proxy_buffering off;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location /v2/ {{
      if ($fault = "429") {{ add_header Retry-After {RETRY_AFTER} always; return 429; }}
      if ($fault = "503") {{ add_header Retry-After {RETRY_AFTER} always; return 503; }}
      proxy_pass http://127.0.0.1:{upstream};
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
    }}
  }}
}}
"""
        path = os.path.join(directory, "nginx.conf")
        with open(path, "w") as f:
            f.write(config)
        self.start(name, ["nginx", "-c", path, "-p", directory, "-e", os.path.join(directory, "error.log")], port)
        return port, os.path.join(directory, "access.log")

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


def push(port, work):
    folder = os.path.join(work, "push")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, FILE), "wb") as f:
        f.write(os.urandom(SIZE_MB << 20))
    script = ("import sys, logging, oras.client\nlogging.disable(logging.CRITICAL)\n"
              "oras.client.OrasClient(hostname=sys.argv[1], insecure=True).push(files=[sys.argv[2]], "
              "target=f'{sys.argv[1]}/{sys.argv[3]}', disable_path_validation=True)\n")
    subprocess.run([sys.executable, "-c", script, f"127.0.0.1:{port}", FILE, f"{REPOSITORY}:v1.6.20"], cwd=folder,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_fleet(front_port, work, name, pull_mirror=None):
    """Starts NODES pkgfetch processes released together by one FIFO; returns per-node results."""
    fleet = os.path.join(work, f"fleet-{name}")
    os.makedirs(fleet)
    gate = os.path.join(fleet, "gate")
    os.mkfifo(gate)
    children = {}
    for node in range(NODES):
        home = os.path.join(fleet, f"node-{node}")
        hosts = os.path.join(home, "certs.d", f"127.0.0.1:{front_port}")
        os.makedirs(hosts)
        with open(os.path.join(hosts, "hosts.toml"), "w") as f:
            f.write(f'server = "http://127.0.0.1:{front_port}"\n\n[header]\n  x-fleet-node = "{node}"\n')
            if pull_mirror:
                # Bytes from the mirror, the tag resolved at the registry (containerd's public-mirror setting).
                mirror = f'host."http://127.0.0.1:{pull_mirror}"'
                f.write(f'\n[{mirror}]\n  capabilities = ["pull"]\n[{mirror}.header]\n  x-fleet-node = "{node}"\n')
        arguments = [PKGFETCH, "fetch", URL, "--bootstrap-registry", f"127.0.0.1:{front_port}",
                     "--hosts-dir", os.path.join(home, "certs.d"), "--retries", str(RETRIES),
                     "--output", os.path.join(home, FILE), "--events", os.path.join(home, "events.jsonl")]
        # Each child blocks opening the FIFO until the harness opens it for writing: one release for all.
        shell = 'exec 3<"$1"; exec 3<&-; shift; exec "$@"'
        log = open(os.path.join(home, "stderr"), "w")
        process = subprocess.Popen(["sh", "-c", shell, "sh", gate] + arguments, stdout=subprocess.DEVNULL, stderr=log,
                                   env={"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        children[process.pid] = (node, process)
    time.sleep(0.5)
    released = time.time()
    start = time.monotonic()
    with open(gate, "w"):
        pass
    results = {}
    deadline = start + TIMEOUT
    while len(results) < NODES:
        if time.monotonic() > deadline:
            for pid, (node, process) in children.items():
                if node not in results and process.poll() is None:
                    process.kill()
        pid, status, usage = os.wait4(-1, os.WNOHANG)
        if pid == 0:
            time.sleep(0.005)
            continue
        if pid in children:
            node, _ = children[pid]
            results[node] = {"status": os.waitstatus_to_exitcode(status), "seconds": time.monotonic() - start,
                             "rss_kib": usage.ru_maxrss}
    return released, results


def origin_lines(work):
    with open(os.path.join(work, "origin.log")) as f:
        return sum(1 for _ in f)


def origin_counts(work, skip):
    """Requests the origin registry logged after its first `skip` log lines: all, and blob GETs."""
    with open(os.path.join(work, "origin.log")) as f:
        lines = f.readlines()[skip:]
    requests = [line for line in lines if '"GET /v2/' in line or '"HEAD /v2/' in line]
    return {"origin_requests": len(requests), "origin_blob_gets": sum(1 for line in requests if '"GET /v2/' in line and "/blobs/" in line)}


def log_length(path):
    with open(path) as f:
        return sum(1 for _ in f)


def analyse(logs, released, results):
    """`logs`: (nginx access log, lines to skip) of each front the fleet went through."""
    lines = []
    raw = []
    for path, after in logs:
        with open(path) as f:
            raw += f.readlines()[after:]
    for line in raw:
        parts = line.split()
        if len(parts) < 7 or parts[2] == "-":
            continue
        end, duration = float(parts[0]), float(parts[1])
        lines.append({"end": end - released, "start": end - duration - released, "node": int(parts[2]),
                      "method": parts[3], "path": parts[4], "status": int(parts[5]), "upstream": parts[6] != "-"})
    lines.sort(key=lambda r: r["end"])
    upstream = [r for r in lines if r["upstream"]]
    # Peak requests in flight at the registry: overlap of the proxied requests' intervals.
    edges = sorted([(r["start"], 1) for r in upstream] + [(r["end"], -1) for r in upstream])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    # A retry is a node's request after a 429/503 it was given; its delay is measured from that answer.
    retries, delays, last_fault = [], [], {}
    for r in lines:
        if r["node"] in last_fault:
            retries.append(r["start"])
            delays.append(r["start"] - last_fault.pop(r["node"]))
        if r["status"] in (429, 503):
            last_fault[r["node"]] = r["end"]
    seconds = sorted(v["seconds"] for v in results.values())
    per_node = [sum(1 for r in upstream if r["node"] == n) for n in range(NODES)]
    summary = {
        "nodes": NODES,
        "succeeded": sum(1 for v in results.values() if v["status"] == 0),
        "requests": len(lines),
        "faults": sum(1 for r in lines if r["status"] in (429, 503)),
        "registry_requests_per_node": statistics.mean(per_node),
        "registry_requests_per_node_max": max(per_node),
        "peak_in_flight": peak,
        "p50": seconds[len(seconds) // 2],
        "p95": seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))],
        "max": seconds[-1],
        "rss_mib_max": max(v["rss_kib"] for v in results.values()) / 1024,
        "rss_mib_median": statistics.median(v["rss_kib"] for v in results.values()) / 1024,
        "retries": len(retries),
        "retry_delay_min": min(delays) if delays else 0,
        "retry_delay_max": max(delays) if delays else 0,
        "retry_histogram": histogram(retries),
        # The busiest quarter-second's share of all retries: 1/bins when spread, near 1 in one wave.
        "retry_peak_share": max(histogram(retries).values()) / len(retries) if retries else 0,
    }
    return summary


def histogram(times):
    bins = {}
    for t in times:
        key = int(t / BIN_SECONDS)
        bins[key] = bins.get(key, 0) + 1
    return bins


def show_histogram(name, bins):
    print(f"\nretries of '{name}' by arrival time (each row {BIN_SECONDS}s, # = 1 retry):")
    if not bins:
        print("  (none)")
        return
    for key in range(min(bins), max(bins) + 1):
        count = bins.get(key, 0)
        print(f"  {key * BIN_SECONDS:6.2f}s {count:4d} {'#' * min(count, 100)}")


def main():
    for tool, package in [("docker-registry", "docker-registry"), ("nginx", "nginx")]:
        require(tool, package)
    if subprocess.run([sys.executable, "-c", "import oras.client"], capture_output=True).returncode != 0:
        sys.exit("load: the Python 'oras' package is missing; install it with: pip install oras")
    if not os.access(PKGFETCH, os.X_OK):
        sys.exit(f"load: no pkgfetch binary at {PKGFETCH} (make load builds it)")
    work = tempfile.mkdtemp(prefix="pkgfetch-load.")
    servers = Servers(work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        origin = servers.registry("origin")
        push(origin, work)
        direct_port, direct_log = servers.faulty_front("front-origin", origin)
        cache = servers.registry("cache", proxy=f"http://127.0.0.1:{origin}")
        cached_port, cached_log = servers.faulty_front("front-cache", cache)
        # The registry alone; the cache cold (this fleet fills it), then warm; then the warm cache as
        # a pull-only mirror with the registry resolving the tag.
        runs = [("direct", direct_port, None), ("cold", cached_port, None), ("warm", cached_port, None),
                ("pull-only", direct_port, cached_port)]
        scenarios = []
        for name, port, mirror in runs:
            seen = origin_lines(work)
            logs = [(direct_log, log_length(direct_log)), (cached_log, log_length(cached_log))]
            released, results = run_fleet(port, work, name, pull_mirror=mirror)
            summary = analyse(logs, released, results)
            summary.update(origin_counts(work, seen))
            scenarios.append(summary)
        report(scenarios)
        return 0 if all(s["succeeded"] == NODES for s in scenarios) else 1
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(scenarios):
    print(f"\nfleet of {NODES} pkgfetch processes started together; {SIZE_MB} MiB package; nginx answers "
          f"{FAULT_PERCENT:g}% of requests 429/503 with Retry-After: {RETRY_AFTER}; --retries {RETRIES}\n")
    rows = [
        ("runs succeeded", lambda s: f"{s['succeeded']}/{s['nodes']}"),
        ("requests sent (of them 429/503)", lambda s: f"{s['requests']} ({s['faults']})"),
        ("requests past nginx per node (mean / max)",
         lambda s: f"{s['registry_requests_per_node']:.2f} / {s['registry_requests_per_node_max']}"),
        ("requests reaching the origin (all nodes; of them blob GETs)", lambda s: f"{s['origin_requests']} ({s['origin_blob_gets']})"),
        ("peak requests in flight past nginx", lambda s: str(s["peak_in_flight"])),
        ("time per node p50 / p95 / max", lambda s: f"{s['p50']:.2f} s / {s['p95']:.2f} s / {s['max']:.2f} s"),
        ("requests after a 429/503 (retries, or the next host); wait (min–max)",
         lambda s: f"{s['retries']}; {s['retry_delay_min']:.2f}–{s['retry_delay_max']:.2f} s"),
        ("busiest 0.25 s holds this share of retries", lambda s: f"{s['retry_peak_share'] * 100:.0f}%"),
        ("peak RSS per process (median / max)", lambda s: f"{s['rss_mib_median']:.1f} / {s['rss_mib_max']:.1f} MiB"),
    ]
    names = ["registry", "pull-through cache, cold", "cache, warm", "cache as pull-only mirror, tag at the registry"]
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, value in rows:
        print(f"| {label} | " + " | ".join(value(s) for s in scenarios) + " |")
    for name, summary in zip(names, scenarios):
        show_histogram(name, summary["retry_histogram"])
    if os.environ.get("LOAD_JSON"):
        with open(os.environ["LOAD_JSON"], "w") as f:
            json.dump(dict(zip(names, scenarios)), f, default=str)


if __name__ == "__main__":
    sys.exit(main())
