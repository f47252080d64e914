"""`pkgfetch components` against the node scripts' way, on loopback servers started by
scripts/bench-components.sh: the same components.json, the same files, a fresh root each run.

The scripts' way is one process per package, one after the other: `curl` for an https entry, and for a
registry reference the `oras` Python client (the `oras` CLI binary is not installed here), as
`cachePackageAndBinaryComponents` runs `curl`/`oras pull` per package. Prints markdown tables."""
import json, logging, os, random, re, shutil, statistics, subprocess, sys, time

logging.disable(logging.CRITICAL)
PKGFETCH = os.environ["PKGFETCH"]
WORK = os.environ["WORK"]
CDN_BASE = f"http://127.0.0.1:{os.environ['NGINX_PORT']}"
REGISTRY = f"127.0.0.1:{os.environ['REGISTRY_PORT']}"
NGINX_LOG, REGISTRY_LOG = os.environ["NGINX_LOG"], os.environ["REGISTRY_LOG"]
CDN_COUNT = int(os.environ.get("BENCH_CDN_PACKAGES", "20"))
REF_COUNT = int(os.environ.get("BENCH_REF_PACKAGES", "6"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))

ORAS_PULL = """
import sys, logging, oras.client
logging.disable(logging.CRITICAL)
oras.client.OrasClient(hostname=sys.argv[1], insecure=True).pull(target=sys.argv[2], outdir=sys.argv[3])
"""


def make_packages():
    """Writes the files, pushes the references, and returns the components.json and its plan:
    (kind, name, url or reference, location, file name) per package."""
    rng = random.Random(7)
    packages, plan = [], []
    for index in range(CDN_COUNT):
        name, version = f"cdn-tool-{index:02}", f"1.{index}.0"
        path = f"/{name}/v{version}/binaries/{name}-linux-amd64-v{version}.tgz"
        os.makedirs(os.path.dirname(WORK + "/cdn" + path), exist_ok=True)
        with open(WORK + "/cdn" + path, "wb") as out:
            out.write(rng.randbytes(rng.randint(100_000, 1_000_000)))
        location = f"/opt/{name}/downloads"
        packages.append({"name": name, "downloadLocation": location, "downloadURIs": {"default": {"current": {
            "versionsV2": [{"latestVersion": version}],
            "downloadURL": f"{CDN_BASE}/{name}/v${{version}}/binaries/{name}-linux-${{CPU_ARCH}}-v${{version}}.tgz"}}}})
        plan.append(("cdn", name, CDN_BASE + path, location, os.path.basename(path)))
    import oras.client
    client = oras.client.OrasClient(hostname=REGISTRY, insecure=True)
    for index in range(REF_COUNT):
        name, version = f"ref-tool-{index:02}", f"v1.{index}.0"
        folder = f"{WORK}/push/{name}"
        os.makedirs(folder, exist_ok=True)
        with open(f"{folder}/{name}", "wb") as out:
            out.write(rng.randbytes(rng.randint(100_000, 1_000_000)))
        reference = f"{REGISTRY}/oss/binaries/{name}:{version}-linux-amd64"
        cwd = os.getcwd()
        os.chdir(folder)
        client.push(files=[name], target=reference, disable_path_validation=True)
        os.chdir(cwd)
        location = f"/opt/{name}/downloads"
        packages.append({"name": name, "downloadLocation": location, "downloadURIs": {"ubuntu": {"r2204": {
            "versionsV2": [{"latestVersion": version}],
            "downloadURL": f"{REGISTRY}/oss/binaries/{name}:${{version}}-linux-${{CPU_ARCH}}"}}}})
        plan.append(("ref", name, reference, location, name))
    # Packages the OS package manager installs: listed, skipped by both.
    for index in range(4):
        packages.append({"name": f"apt-tool-{index}", "downloadLocation": "/opt/apt", "downloadURIs": {"ubuntu": {"r2204": {
            "versionsV2": [{"latestVersion": "1.0-ubuntu22.04u1"}]}}}})
    path = WORK + "/components.json"
    with open(path, "w") as out:
        json.dump({"Packages": packages}, out)
    return path, plan


def log_lines():
    with open(NGINX_LOG, errors="replace") as a, open(REGISTRY_LOG, errors="replace") as b:
        return (sum(1 for _ in a), sum(1 for line in b if "response completed" in line))


def run_pkgfetch(components, root, only=None):
    arguments = [PKGFETCH, "components", components, "--os", "ubuntu", "--release", "22.04", "--root", root, "--quiet"]
    for name in only or []:
        arguments += ["--only", name]
    subprocess.run(arguments, check=True)


def run_scripts_way(plan, root):
    for kind, name, source, location, file_name in plan:
        directory = root + location
        os.makedirs(directory, exist_ok=True)
        if kind == "cdn":
            subprocess.run(["curl", "-fsSL", "--retry", "5", "-o", f"{directory}/{file_name}", source], check=True)
        else:
            subprocess.run([sys.executable, "-c", ORAS_PULL, REGISTRY, source, directory], check=True, stdout=subprocess.DEVNULL)


def measure(label, work, check):
    times, requests = [], None
    for run in range(RUNS):
        root = f"{WORK}/roots/{label}-{run}"
        before = log_lines()
        started = time.monotonic()
        work(root)
        times.append(time.monotonic() - started)
        after = log_lines()
        check(root)
        requests = (after[0] - before[0], after[1] - before[1])
        shutil.rmtree(root)
    return statistics.median(times), min(times), requests


def main():
    components, plan = make_packages()
    cdn_names = [name for kind, name, *_ in plan if kind == "cdn"]

    def check(subset):
        def verify(root):
            for kind, name, source, location, file_name in subset:
                if not os.path.isfile(f"{root}{location}/{file_name}"):
                    raise SystemExit(f"{name} missing under {root}")
        return verify

    cdn_plan = [p for p in plan if p[0] == "cdn"]
    rows = [
        ("whole list", len(plan),
         measure("pkgfetch-all", lambda root: run_pkgfetch(components, root), check(plan)),
         measure("scripts-all", lambda root: run_scripts_way(plan, root), check(plan))),
        ("https entries only", len(cdn_plan),
         measure("pkgfetch-cdn", lambda root: run_pkgfetch(components, root, cdn_names), check(cdn_plan)),
         measure("scripts-cdn", lambda root: run_scripts_way(cdn_plan, root), check(cdn_plan))),
    ]
    print(f"\n{CDN_COUNT} https entries (100 KB–1 MB), {REF_COUNT} registry references, 4 skipped; median of {RUNS} runs, seconds\n")
    print("| list | packages | pkgfetch components | one process per package | ratio | requests per package, pkgfetch (CDN / registry) | scripts' way (CDN / registry) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, count, ours, theirs in rows:
        refs = count - len([p for p in plan if p[0] == "cdn"]) if label == "whole list" else 0
        cdn = count - refs

        def per(requests):
            return f"{requests[0] / cdn:.1f} / {requests[1] / refs:.1f}" if refs else f"{requests[0] / cdn:.1f} / –"
        print(f"| {label} | {count} | {ours[0]:.2f} | {theirs[0]:.2f} | {theirs[0] / ours[0]:.1f}× | {per(ours[2])} | {per(theirs[2])} |")


if __name__ == "__main__":
    main()
