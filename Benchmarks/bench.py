#!/usr/bin/env python3
"""Times pkgfetch against its peers on loopback servers that scripts/bench.sh started.

Each case runs every tool BENCH_RUNS times, interleaved (A B C A B C …), under /usr/bin/time (the
start-up case spawns each command directly), and reports the median wall time, CPU time (user+sys)
and peak RSS per tool, and pkgfetch's ratio to each peer. Prints a Markdown table per case, with the
case's targets under it (issue 25's at 50 MiB/s, the batch against its parts, start-up against
curl, any "(baseline)" row), then one table of every target; writes the raw numbers to
bench-results.json. `bench.py --render bench-results.json` prints the tables of an earlier run again."""
import hashlib, json, logging, os, platform, shutil, statistics, subprocess, sys, tarfile, time, zipfile

logging.disable(logging.CRITICAL)
# Set by scripts/bench.sh (not needed for --render).
PKGFETCH = os.environ.get("PKGFETCH", "")
WORK = os.environ.get("WORK", "")
CDN = f"http://127.0.0.1:{os.environ.get('NGINX_PORT')}"
REGISTRY = f"127.0.0.1:{os.environ.get('REGISTRY_PORT')}"
# nginx capping each connection at 50 and 200 MiB/s, in front of the CDN files and the registry.
CAPPED = {"50m": os.environ.get("CAP50_PORT"), "200m": os.environ.get("CAP200_PORT")}
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
BLOB_MB = int(os.environ.get("BENCH_BLOB_MB", "1024"))
UNPACK_MB = int(os.environ.get("BENCH_UNPACK_MB", "200"))
SMALL_COUNT = int(os.environ.get("BENCH_SMALL_COUNT", "50"))
# The tree behind the capped end-to-end case: half random, so its tar.gz is about half this size.
CAPPED_TREE_MB = int(os.environ.get("BENCH_CAPPED_TREE_MB", "400"))
CAPPED_RUNS = int(os.environ.get("BENCH_CAPPED_RUNS", str(RUNS)))
# The batch case: BATCH_LARGE packages of BATCH_LARGE_MB and BATCH_SMALL of 1 MiB, over the 50 MiB/s link.
BATCH_LARGE = int(os.environ.get("BENCH_BATCH_LARGE", "4"))
BATCH_LARGE_MB = int(os.environ.get("BENCH_BATCH_LARGE_MB", "256"))
BATCH_SMALL = int(os.environ.get("BENCH_BATCH_SMALL", "20"))
# The start-up case: `--version` this many times per tool, alternating.
STARTUP_RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "50"))
# BENCH_ONLY=registry,cdn runs only those cases (startup, registry, cdn, capped, batch, e2e-capped, unpack,
# e2e, small); default all.
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
CASES = {"startup", "registry", "cdn", "capped", "batch", "e2e-capped", "unpack", "e2e", "small"}
# PKGFETCH_BASELINE=/path/to/pkgfetch adds a row for another build (e.g. the previous commit's) to the
# start-up, registry, CDN, capped and batch cases, timed in the same interleaved rounds.
BASELINE = os.environ.get("PKGFETCH_BASELINE", "")
# Issue 25's targets over a link capped at 50 MiB/s per connection.
TARGET_WALL_VS_ARIA2C = 0.9
TARGET_CPU_VS_CURL_AND_SHA256 = 1.1
TARGET_RSS_MIB = 40

# The package the large-file and end-to-end cases fetch, and its repository behind --bootstrap-registry.
NODE_URL = "https://packages.aks.azure.com/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"
NODE_REPO = "oss/binaries/kubernetes/kubernetes-node"


def wanted(key):
    return not ONLY or key in ONLY


def sh(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw).stdout


def random_file(path, size_mb):
    with open(path, "wb") as out:
        for _ in range(size_mb):
            out.write(os.urandom(1 << 20))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def push(repo_tag, path):
    import oras.client
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path))
    try:
        oras.client.OrasClient(hostname=REGISTRY, insecure=True).push(
            files=[os.path.basename(path)], target=f"{REGISTRY}/{repo_tag}", disable_path_validation=True)
    finally:
        os.chdir(cwd)
    manifest = json.loads(sh("curl", "-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                             f"http://{REGISTRY}/v2/{repo_tag.split(':')[0]}/manifests/{repo_tag.split(':')[1]}"))
    return manifest["layers"][0]["digest"]


def oras_pull(repo_tag, outdir):
    """The shell command that pulls REPO:TAG into outdir with the oras Python client, as `oras pull` does."""
    return (f"python3 -c \"import oras.client,logging;logging.disable(50);"
            f"oras.client.OrasClient(hostname='{REGISTRY}',insecure=True).pull(target='{REGISTRY}/{repo_tag}',outdir='{outdir}')\"")


def timed(command, setup=None):
    """Runs `command` (a shell string) under /usr/bin/time; returns wall s, cpu s, peak RSS MiB."""
    if setup:
        subprocess.run(setup, shell=True, check=True)
    fmt = "%e %U %S %M"
    result = subprocess.run(["/usr/bin/time", "-f", fmt, "bash", "-c", command], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    last = result.stderr.strip().splitlines()[-1]
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed ({result.returncode}): {command}\n{result.stderr[-2000:]}")
    wall, user, system, rss_kb = last.split()
    return {"wall": float(wall), "cpu": float(user) + float(system), "rss_mib": int(rss_kb) / 1024}


def spawned(argv, setup=None):
    """Runs argv once through Benchmarks/spawn-timed.c (built by startup_case): no shell, no
    /usr/bin/time, whose own start-up would swamp a few milliseconds; returns wall s, cpu s and
    peak RSS MiB."""
    result = subprocess.run([os.path.join(WORK, "spawn-timed"), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}\n{result.stderr[-2000:]}")
    wall, cpu, rss_kb = result.stdout.split()
    return {"wall": float(wall), "cpu": float(cpu), "rss_mib": int(rss_kb) / 1024}


def case(name, tools, runs=RUNS, gib=None, checks=(), timer=timed, unit="s"):
    """tools: {label: (command, setup)}; pkgfetch first. Interleaved runs, medians. With `gib` (the
    GiB each run moves) the table also gives CPU seconds per GiB. `checks` (see check_lines) are
    printed under the table; a "(baseline)" row adds one of its own."""
    samples = {label: [] for label in tools}
    order = list(tools.items())
    for round in range(runs):
        # Interleaved, and rotated each round so that no tool always runs first.
        for label, (command, setup) in order[round % len(order):] + order[:round % len(order)]:
            samples[label].append(timer(command, setup))
    checks = list(checks) + [{"name": "wall / baseline build", "of": "wall", "over": [label], "at_most": 1.0}
                             for label in tools if label.endswith("(baseline)")]
    result = {"case": name, "tools": summarize(samples), "gib": gib, "checks": checks, "unit": unit}
    render(result)
    return result


def summarize(samples):
    """Medians per tool, and pkgfetch's (the first tool's) ratio to each: of the medians, and the
    median of the per-round ratios (each round runs every tool back to back, so a round's ratio is
    measured under the same machine load: steadier on a shared, noisy machine)."""
    rows = {}
    for label, values in samples.items():
        rows[label] = {key: statistics.median(v[key] for v in values) for key in ("wall", "cpu", "rss_mib")}
        rows[label]["runs"] = values
    first = next(iter(rows))
    for label in rows:
        rows[label]["ratio"] = rows[first]["wall"] / rows[label]["wall"] if rows[label]["wall"] else None
        pairs = [a["wall"] / b["wall"] for a, b in zip(rows[first]["runs"], rows[label]["runs"]) if b["wall"]]
        rows[label]["paired_ratio"] = statistics.median(pairs) if pairs else None
    return rows


def render(result):
    gib, unit = result.get("gib"), result.get("unit", "s")
    scale, places = (1000, 1) if unit == "ms" else (1, 2)
    print(f"\n#### {result['case']}\n\n| tool | median wall {unit} | median CPU {unit} |{' CPU s/GiB |' if gib else ''} peak RSS MiB | pkgfetch / tool | per-round median |"
          f"\n| --- | ---: | ---: |{' ---: |' if gib else ''} ---: | ---: | ---: |")
    for label, row in result["tools"].items():
        per_gib = f" {row['cpu'] / gib:.2f} |" if gib else ""
        print(f"| {label} | {row['wall'] * scale:.{places}f} | {row['cpu'] * scale:.{places}f} |{per_gib} "
              f"{row['rss_mib']:.1f} | {row['ratio']:.2f} | {row['paired_ratio']:.2f} |")
    lines = check_lines(result)
    if lines:
        print("\n" + "\n".join(f"- {text}" for text, _ in lines))
    sys.stdout.flush()


def check_lines(result):
    """The case's checks of its first tool (pkgfetch), as [(text, (name, value, per round, target, met))].
    A check: {"name", "of": "wall" | "cpu" | "rss_mib", "over": [labels], "plus": seconds, "at_most"}.
    With `over` or `plus` it is the ratio of the first tool's median to the sum of those tools'
    medians plus `plus` (and the median of that ratio per round, where the tools ran back to back);
    without, the first tool's median itself. `at_most` is the target (none: reported only)."""
    rows = result["tools"]
    first = next(iter(rows.values()))
    lines = []
    for check in result.get("checks") or []:
        key, over, plus, target = check["of"], check.get("over", []), check.get("plus", 0), check.get("at_most")
        if over or plus:
            value = first[key] / (sum(rows[label][key] for label in over) + plus)
            rounds = zip(first["runs"], *(rows[label]["runs"] for label in over))
            per_round = statistics.median(mine[key] / (sum(r[key] for r in others) + plus) for mine, *others in rounds)
            text = f"{check['name']}: **{value:.2f}** (per round {per_round:.2f})"
        else:
            value, per_round = first[key], None
            text = f"{check['name']}: **{value:.1f}**"
        met = None if target is None else value <= target
        if target is not None:
            text += f"; target ≤ {target:g}: {'met' if met else 'not met'}"
        lines.append((text, (check["name"], value, per_round, target, met)))
    return lines


def render_targets(results):
    """One table of every case's checks, for the README to quote."""
    rows = [(result["case"], *data) for result in results for _, data in check_lines(result)]
    if not rows:
        return
    print("\n#### targets\n\n| case | measure | pkgfetch | per round | target | met |\n| --- | --- | ---: | ---: | ---: | --- |")
    for name, measure, value, per_round, target, met in rows:
        shown = f"{value:.2f}" if per_round is not None else f"{value:.1f}"
        print(f"| {name} | {measure} | {shown} | {'' if per_round is None else f'{per_round:.2f}'} | "
              f"{'' if target is None else f'≤ {target:g}'} | {'' if met is None else ('yes' if met else 'no')} |")
    sys.stdout.flush()


def make_tree(root, total_mb, files=2000):
    os.makedirs(root, exist_ok=True)
    per = total_mb * (1 << 20) // files
    for i in range(files):
        d = os.path.join(root, f"dir{i % 40:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"file{i:04d}.bin"), "wb") as f:
            # Half random, half repetitive: compressible like real binaries, not trivially.
            f.write(os.urandom(per // 2) + bytes(per - per // 2))


def large_file_cases(out, reset):
    """The BENCH_BLOB_MB registry blob and CDN file: on loopback, and through the paced nginx (50 and
    200 MiB/s per connection)."""
    results = []
    # 1. Registry pull + verify.
    blob_dir = os.path.join(WORK, "blob")
    os.makedirs(blob_dir)
    big = os.path.join(blob_dir, "kubernetes-node-linux-amd64.tar.gz")
    random_file(big, BLOB_MB)
    digest = push("oss/binaries/kubernetes/kubernetes-node:v1.33.7-linux-amd64", big)
    url, repo = NODE_URL, NODE_REPO
    baseline_registry = {"pkgfetch (baseline)": (f"{BASELINE} fetch {url} --bootstrap-registry {REGISTRY} --output {out}/k.tgz --quiet", reset)} if BASELINE else {}
    if wanted("registry"): results.append(case(f"registry pull + verify, {BLOB_MB} MiB blob", {
        "pkgfetch": (f"{PKGFETCH} fetch {url} --bootstrap-registry {REGISTRY} --output {out}/k.tgz --quiet", reset),
        **baseline_registry,
        "pkgfetch --fsync": (f"{PKGFETCH} fetch {url} --bootstrap-registry {REGISTRY} --output {out}/k.tgz --quiet --fsync", reset),
        "curl (blob URL, unverified)": (f"curl -sf -o {out}/k.tgz http://{REGISTRY}/v2/{repo}/blobs/{digest}", reset),
        "oras (Python client)": (oras_pull(f"{repo}:v1.33.7-linux-amd64", out), reset),
        "skopeo copy": (f"skopeo copy -q --src-tls-verify=false docker://{REGISTRY}/{repo}:v1.33.7-linux-amd64 dir:{out}/s", reset),
    }))

    # 2. CDN download + verify.
    cdn_path = os.path.join(WORK, "cdn", "kubernetes", "v1.33.7", "binaries")
    os.makedirs(cdn_path)
    shutil.move(big, os.path.join(cdn_path, "kubernetes-node-linux-amd64.tar.gz"))
    hexdigest = digest.split(":")[1]
    cdn_url = f"{CDN}/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"
    baseline_cdn = {"pkgfetch --sha256 (baseline)": (f"{BASELINE} fetch {cdn_url} --sha256 {hexdigest} --output {out}/k.tgz --quiet", reset)} if BASELINE else {}
    if wanted("cdn"): results.append(case(f"CDN download + verify, {BLOB_MB} MiB", {
        "pkgfetch --sha256": (f"{PKGFETCH} fetch {cdn_url} --sha256 {hexdigest} --output {out}/k.tgz --quiet", reset),
        **baseline_cdn,
        "pkgfetch --sha256 --fsync": (f"{PKGFETCH} fetch {cdn_url} --sha256 {hexdigest} --output {out}/k.tgz --quiet --fsync", reset),
        "curl -o + sha256sum": (f"curl -sf -o {out}/k.tgz {cdn_url} && sha256sum {out}/k.tgz", reset),
        "curl -o (unverified)": (f"curl -sf -o {out}/k.tgz {cdn_url}", reset),
    }))
    # 2b. Capped links: every connection through nginx at 50 or 200 MiB/s, CDN files and registry blobs
    # (nginx proxies the registry), against curl and aria2c with 4 connections; CPU per GiB, with
    # SHA-256 alone (openssl, the file in the page cache) as the floor.
    if wanted("capped"):
        cdn_file = os.path.join(cdn_path, "kubernetes-node-linux-amd64.tar.gz")
        gib = BLOB_MB / 1024
        aria2 = f"aria2c -q -x4 -s4 -k1M --file-allocation=falloc --allow-overwrite=true --auto-file-renaming=false -d {out} -o k.tgz"
        floor = case(f"SHA-256 alone: the CPU floor, {BLOB_MB} MiB", {
            "openssl dgst -sha256 (file in page cache)": (f"openssl dgst -sha256 {cdn_file}", f"cat {cdn_file} > /dev/null"),
        }, runs=CAPPED_RUNS, gib=gib)
        results.append(floor)
        sha256_cpu = next(iter(floor["tools"].values()))["cpu"]
        # BENCH_CAPS=200m (or 50m) runs the capped cases at that rate only.
        caps = set(filter(None, os.environ.get("BENCH_CAPS", "").split(","))) or set(CAPPED)
        for cap, port in CAPPED.items():
            if cap not in caps:
                continue
            # Issue 25 sets its targets at 50 MiB/s.
            targets = (lambda aria2c, curl: issue25_checks(aria2c, curl, sha256_cpu) if cap == "50m" else [])
            capped_url = f"http://127.0.0.1:{port}/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"
            baseline = {"pkgfetch --sha256 (baseline)": (f"{BASELINE} fetch {capped_url} --sha256 {hexdigest} --output {out}/k.tgz --quiet", reset)} if BASELINE else {}
            results.append(case(f"capped at {cap[:-1]} MiB/s per connection: CDN download + verify, {BLOB_MB} MiB", {
                "pkgfetch --sha256": (f"{PKGFETCH} fetch {capped_url} --sha256 {hexdigest} --output {out}/k.tgz --quiet", reset),
                **baseline,
                "pkgfetch --sha256 --connections 1": (f"{PKGFETCH} fetch {capped_url} --sha256 {hexdigest} --connections 1 --output {out}/k.tgz --quiet", reset),
                "curl -o (unverified)": (f"curl -sf -o {out}/k.tgz {capped_url}", reset),
                "aria2c -x4 -s4 -k1M (unverified)": (f"{aria2} {capped_url}", reset),
            }, runs=CAPPED_RUNS, gib=gib, checks=targets("aria2c -x4 -s4 -k1M (unverified)", "curl -o (unverified)")))
            capped_registry = f"127.0.0.1:{port}"
            blob_url = f"http://{capped_registry}/v2/{repo}/blobs/{digest}"
            baseline = {"pkgfetch (baseline)": (f"{BASELINE} fetch {url} --bootstrap-registry {capped_registry} --output {out}/k.tgz --quiet", reset)} if BASELINE else {}
            results.append(case(f"capped at {cap[:-1]} MiB/s per connection: registry pull + verify, {BLOB_MB} MiB blob", {
                "pkgfetch": (f"{PKGFETCH} fetch {url} --bootstrap-registry {capped_registry} --output {out}/k.tgz --quiet", reset),
                **baseline,
                "pkgfetch --connections 1": (f"{PKGFETCH} fetch {url} --bootstrap-registry {capped_registry} --connections 1 --output {out}/k.tgz --quiet", reset),
                "curl (blob URL, unverified)": (f"curl -sf -o {out}/k.tgz {blob_url}", reset),
                "aria2c -x4 -s4 -k1M (blob URL, unverified)": (f"{aria2} {blob_url}", reset),
            }, runs=CAPPED_RUNS, gib=gib, checks=targets("aria2c -x4 -s4 -k1M (blob URL, unverified)", "curl (blob URL, unverified)")))
    os.remove(os.path.join(cdn_path, "kubernetes-node-linux-amd64.tar.gz"))
    return results


def issue25_checks(aria2c, curl, sha256_cpu):
    """Issue 25's targets at 50 MiB/s per connection: wall against aria2c's four connections, CPU
    against curl's plus SHA-256's for the same bytes (the floor case's median), peak RSS."""
    return [{"name": "wall / aria2c -x4", "of": "wall", "over": [aria2c], "at_most": TARGET_WALL_VS_ARIA2C},
            {"name": f"CPU / (curl CPU + SHA-256 CPU {sha256_cpu:.2f} s)", "of": "cpu", "over": [curl], "plus": sha256_cpu,
             "at_most": TARGET_CPU_VS_CURL_AND_SHA256},
            {"name": "peak RSS MiB", "of": "rss_mib", "at_most": TARGET_RSS_MIB}]


def main():
    out = os.path.join(WORK, "out")
    # Each timed run starts from an empty output directory and a clean page cache state (sync), so
    # no run pays for the previous one's writeback.
    reset = f"rm -rf {out} && mkdir -p {out} && sync"
    if ONLY - CASES:
        raise SystemExit(f"BENCH_ONLY: no case {', '.join(sorted(ONLY - CASES))} (cases: {', '.join(sorted(CASES))})")
    results = []
    print(f"pkgfetch benchmarks — {platform.node()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"{RUNS} runs per tool, interleaved; medians")

    if wanted("startup"):
        results.append(startup_case())
    if wanted("registry") or wanted("cdn") or wanted("capped"):
        results.extend(large_file_cases(out, reset))
    if wanted("batch"):
        results.append(batch_case(out, reset))
    if wanted("e2e-capped"):
        results.extend(capped_end_to_end(out, reset))
    if not (wanted("unpack") or wanted("e2e") or wanted("small")):
        return finish(results)

    url, repo = NODE_URL, NODE_REPO
    # 3. Unpack: a zip and a tar.gz of many files, from a local cache (no network).
    tree = os.path.join(WORK, "tree")
    make_tree(os.path.join(tree, "pkg"), UNPACK_MB)
    cache = os.path.join(WORK, "cache")
    os.makedirs(cache)
    zip_path = os.path.join(cache, "azure-vnet-cni-windows-amd64-v1.6.20.zip")
    tgz_path = os.path.join(cache, "kubernetes-node-linux-amd64.tar.gz")
    sh("bash", "-c", f"cd {tree} && bsdtar -a -cf {zip_path} pkg && tar -czf {tgz_path} pkg")
    shutil.rmtree(tree)
    zip_url = "https://packages.invalid/azure-cni/v1.6.20/binaries/azure-vnet-cni-windows-amd64-v1.6.20.zip"
    tgz_url = "https://packages.invalid/kubernetes/v1.33.7/binaries/kubernetes-node-linux-amd64.tar.gz"
    if wanted("unpack"): results.append(case(f"unpack a {UNPACK_MB} MiB zip (2000 files)", {
        "pkgfetch (cache → verify → unpack → install)": (f"{PKGFETCH} fetch {zip_url} --cache-dir {cache} --dest {out}/d --quiet", reset),
        "bsdtar -xf": (f"mkdir -p {out}/d && bsdtar -xf {zip_path} -C {out}/d", reset),
        "unzip -q": (f"unzip -q {zip_path} -d {out}/d", reset),
    }))
    if wanted("unpack"): results.append(case(f"unpack a {UNPACK_MB} MiB tar.gz (2000 files)", {
        "pkgfetch (cache → verify → unpack → install)": (f"{PKGFETCH} fetch {tgz_url} --cache-dir {cache} --dest {out}/d --quiet", reset),
        "bsdtar -xf": (f"mkdir -p {out}/d && bsdtar -xf {tgz_path} -C {out}/d", reset),
        "tar -xzf (GNU)": (f"mkdir -p {out}/d && tar -xzf {tgz_path} -C {out}/d", reset),
    }))

    # 4. End to end: registry → verified → unpacked tar.gz.
    push("oss/binaries/kubernetes/kubernetes-node:v1.33.7-linux-amd64", tgz_path)
    if wanted("e2e"): results.append(case(f"end to end: registry pull + unpack of the {UNPACK_MB} MiB tar.gz", {
        "pkgfetch": (f"{PKGFETCH} fetch {url} --bootstrap-registry {REGISTRY} --dest {out}/d --quiet", reset),
        "oras pull (Python) + tar -xzf": (oras_pull(f"{repo}:v1.33.7-linux-amd64", out)
                                          + f" && mkdir -p {out}/d && tar -xzf {out}/kubernetes-node-linux-amd64.tar.gz -C {out}/d", reset),
    }))

    # 5. Many small packages: the fixed cost per package.
    small = os.path.join(WORK, "small")
    os.makedirs(small)
    for i in range(SMALL_COUNT):
        path = os.path.join(small, f"azure-vnet-cni-windows-amd64-v1.0.{i}.zip")
        random_file(path, 1)
        push(f"aks/packages/azure/azure-vnet-cni:v1.0.{i}", path)
    fetches = " && ".join(
        f"{PKGFETCH} fetch https://packages.aks.azure.com/azure-cni/v1.0.{i}/binaries/azure-vnet-cni-windows-amd64-v1.0.{i}.zip "
        f"--bootstrap-registry {REGISTRY} --output {out}/{i}.zip --quiet" for i in range(SMALL_COUNT))
    pull = ("python3 -c \"import oras.client,logging;logging.disable(50);c=oras.client.OrasClient(hostname='"
            f"{REGISTRY}',insecure=True);[c.pull(target='{REGISTRY}/aks/packages/azure/azure-vnet-cni:v1.0.'+str(i),outdir='{out}') for i in %s]\"")
    one_each = " && ".join(pull % f"[{i}]" for i in range(SMALL_COUNT))
    batch_list = os.path.join(WORK, "small.json")
    with open(batch_list, "w") as f:
        json.dump([{"url": f"https://packages.aks.azure.com/azure-cni/v1.0.{i}/binaries/azure-vnet-cni-windows-amd64-v1.0.{i}.zip",
                    "output": f"{out}/{i}.zip"} for i in range(SMALL_COUNT)], f)
    if wanted("small"): results.append(case(f"{SMALL_COUNT} packages of 1 MiB from the registry", {
        "pkgfetch batch (one process for all)": (f"{PKGFETCH} batch {batch_list} --bootstrap-registry {REGISTRY} --quiet", reset),
        "pkgfetch (one process per package)": (fetches, reset),
        "oras (Python, one process per package, as node scripts run oras)": (one_each, reset),
        "oras (Python, one process for all)": (pull % f"range({SMALL_COUNT})", reset),
    }, runs=max(2, RUNS // 2)))  # 2 rounds by default: one oras process per package takes 17 s a round

    finish(results)


def startup_case():
    """`--version` of pkgfetch against curl's, alternating: start-up alone (the dynamic loader, the
    runtime), each run forked by a small C timer (spawn-timed.c) and timed from the fork to the exit."""
    sh("cc", "-O2", "-o", os.path.join(WORK, "spawn-timed"), os.path.join(os.path.dirname(os.path.abspath(__file__)), "spawn-timed.c"))
    tools = {"pkgfetch --version": ([PKGFETCH, "--version"], None)}
    if BASELINE:
        tools["pkgfetch --version (baseline)"] = ([os.path.abspath(BASELINE), "--version"], None)
    tools["curl --version"] = ([shutil.which("curl"), "--version"], None)
    for argv, _ in tools.values():
        spawned(argv)  # the binaries into the page cache, outside the count
    return case(f"start-up: --version, {STARTUP_RUNS} runs each, alternating", tools, runs=STARTUP_RUNS,
                timer=spawned, unit="ms", checks=[
                    {"name": "wall / curl --version", "of": "wall", "over": ["curl --version"], "at_most": 1.0},
                    {"name": "peak RSS / curl's", "of": "rss_mib", "over": ["curl --version"]}])


def batch_case(out, reset):
    """A node's batch over a link capped at 50 MiB/s per connection: BATCH_LARGE large packages among
    BATCH_SMALL of 1 MiB, in one `pkgfetch batch --parallel 4 --connections 4` (the packages share
    the 4 connections), against the sum of its parts (each package fetched alone, one after another),
    the large ones alone in a batch, aria2c over 4 connections (4 files at once, one each), and the
    ideal: every byte at 4 × 50 MiB/s."""
    served = os.path.join(WORK, "cdn", "batch")
    os.makedirs(served)
    large = [(f"kubernetes-node-linux-amd64-v1.3{i}.0.tar.gz", BATCH_LARGE_MB) for i in range(BATCH_LARGE)]
    small = [(f"azure-acr-credential-provider-linux-amd64-v1.{i}.0.tar.gz", 1) for i in range(BATCH_SMALL)]
    # Each large package followed by its share of the small ones, as a node's list mixes them.
    share = BATCH_SMALL // max(1, BATCH_LARGE)
    packages = [p for i, big in enumerate(large) for p in [big] + small[i * share:(i + 1) * share]] + small[BATCH_LARGE * share:]
    entries = []
    for name, size_mb in packages:
        random_file(os.path.join(served, name), size_mb)
        entries.append({"url": f"http://127.0.0.1:{CAPPED['50m']}/batch/{name}", "sha256": sha256(os.path.join(served, name)),
                        "output": f"{out}/{name}", "size_mb": size_mb})

    def batch_list(path, chosen):
        with open(path, "w") as f:
            json.dump([{key: e[key] for key in ("url", "sha256", "output")} for e in chosen], f)
        return path
    everything = batch_list(os.path.join(WORK, "batch.json"), entries)
    large_only = batch_list(os.path.join(WORK, "batch-large.json"), [e for e in entries if e["size_mb"] > 1])
    aria2_list = os.path.join(WORK, "batch.aria2")
    with open(aria2_list, "w") as f:
        f.writelines(f"{e['url']}\n  out={os.path.basename(e['output'])}\n" for e in entries)
    total_mb = sum(e["size_mb"] for e in entries)
    ideal = total_mb / (4 * 50)
    flags = "--parallel 4 --connections 4 --quiet"
    batch = f"pkgfetch batch --parallel 4 --connections 4 ({len(entries)} packages, verified)"
    alone = "pkgfetch fetch --connections 4, each package alone, one after another (the sum of its parts)"
    large_alone = f"pkgfetch batch --parallel 4 --connections 4, the {BATCH_LARGE} large alone"
    tools = {batch: (f"{PKGFETCH} batch {everything} {flags}", reset)}
    if BASELINE:
        tools["pkgfetch batch (baseline)"] = (f"{BASELINE} batch {everything} {flags}", reset)
    tools[alone] = (" && ".join(f"{PKGFETCH} fetch {e['url']} --sha256 {e['sha256']} --connections 4 --output {e['output']} --quiet"
                                for e in entries), reset)
    tools[large_alone] = (f"{PKGFETCH} batch {large_only} {flags}", reset)
    tools["aria2c -i LIST -j4 -x1 (4 files at once, one connection each; unverified)"] = (
        f"aria2c -q -i {aria2_list} -j4 -x1 -s1 --file-allocation=falloc --allow-overwrite=true --auto-file-renaming=false -d {out}", reset)
    result = case(f"batch over a link capped at 50 MiB/s per connection: {BATCH_LARGE} × {BATCH_LARGE_MB} MiB + "
                  f"{BATCH_SMALL} × 1 MiB ({total_mb} MiB)", tools, checks=[
                      {"name": "batch / the sum of its parts", "of": "wall", "over": [alone]},
                      {"name": f"batch / ideal ({total_mb} MiB at 4 × 50 MiB/s = {ideal:.2f} s)", "of": "wall", "plus": ideal},
                      {"name": f"batch / the {BATCH_LARGE} large alone", "of": "wall", "over": [large_alone]},
                      {"name": "peak RSS MiB", "of": "rss_mib"}])
    shutil.rmtree(served)
    return result


def capped_end_to_end(out, reset):
    """Download + unpack over a link capped at 50 MiB/s per connection (the paced nginx), of a
    ~200 MiB tar.gz (a 400 MiB tree, half random) and a zip of the same tree: pkgfetch (verified,
    unpacked while the bytes arrive for tar.gz; a zip is unpacked after its download, see README)
    against curl -o then tar -x, the pipeline curl | tar -xz (which verifies nothing), and the
    download alone."""
    tree = os.path.join(WORK, "capped-tree")
    make_tree(os.path.join(tree, "pkg"), CAPPED_TREE_MB)
    served = os.path.join(WORK, "cdn", "capped")
    os.makedirs(served)
    tgz, zipped = os.path.join(served, "node-bundle.tar.gz"), os.path.join(served, "node-bundle.zip")
    sh("bash", "-c", f"cd {tree} && tar -czf {tgz} pkg && bsdtar -a -cf {zipped} pkg")
    shutil.rmtree(tree)
    results = []
    for path, unpack in ((tgz, "tar -xzf"), (zipped, "unzip -q")):
        url = f"http://127.0.0.1:{CAPPED['50m']}/capped/{os.path.basename(path)}"
        size_mib = os.path.getsize(path) / (1 << 20)
        digest = sha256(path)
        into = f"mkdir -p {out}/d && cd {out}/d &&"
        tools = {
            "pkgfetch --sha256 --dest (download, verify, unpack, install)": (f"{PKGFETCH} fetch {url} --sha256 {digest} --dest {out}/d --quiet", reset),
            "pkgfetch --sha256 --output (download alone, verified)": (f"{PKGFETCH} fetch {url} --sha256 {digest} --output {out}/p --quiet", reset),
            "pkgfetch --connections 1 --sha256 --dest (one stream)": (f"{PKGFETCH} fetch {url} --connections 1 --sha256 {digest} --dest {out}/d --quiet", reset),
            "curl -o (download alone, unverified)": (f"curl -sf -o {out}/p {url}", reset),
            f"curl -o, then {unpack}": (f"curl -sf -o {out}/p {url} && {into} {unpack} {out}/p", reset),
        }
        if path == tgz:
            tools["curl | tar -xz (verifies nothing)"] = (f"{into} curl -sf {url} | tar -xz", reset)
        results.append(case(f"end to end over a link capped at 50 MB/s per connection: {os.path.basename(path)}, "
                            f"{size_mib:.0f} MiB ({CAPPED_TREE_MB} MiB unpacked, 2000 files)", tools))
    shutil.rmtree(served)
    return results


def finish(results):
    render_targets(results)
    with open("bench-results.json", "w") as f:
        json.dump({"machine": {"node": platform.node(), "cores": os.cpu_count(), "platform": platform.platform()},
                   "runs": RUNS, "results": results}, f, indent=1)
    print("\nraw numbers: bench-results.json")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        # Prints the tables of an earlier run's bench-results.json again (for the README).
        results = json.load(open(sys.argv[2]))["results"]
        for result in results:
            result["tools"] = summarize({label: row["runs"] for label, row in result["tools"].items()})
            result.setdefault("gib", None)
            render(result)
        render_targets(results)
    else:
        main()
