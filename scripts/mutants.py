#!/usr/bin/env python3
"""make mutants: breaks each safety check listed in scripts/mutants.toml, one at a time, in a
scratch copy of the tree, and expects a test of the suites named to fail.

The tree is copied into .build-mutants/src and built (tests included) once into .build-mutants/build;
every mutant is then an incremental rebuild of that one build directory. A mutant whose text is not
found exactly once is an error (the list must stay in step with the code), and so is one that does
not build. Before any mutant, the suites named are run once on the unchanged copy: they must pass
(MUTANTS_BASELINE=0 skips that). Prints a table (mutant, killed by which test, or SURVIVED) and exits
1 when a mutant survived or timed out, 2 on an error in the list or the build.

MUTANTS="a b" runs those mutants only; MUTANT_TIMEOUT (900) bounds each mutant's test run, in seconds.
"""
import filecmp
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, ".build-mutants")
SRC = os.path.join(WORK, "src")
BUILD = os.path.join(WORK, "build")
LOGS = os.path.join(WORK, "logs")
SWIFT = os.environ.get("SWIFT", "swift")
TIMEOUT = int(os.environ.get("MUTANT_TIMEOUT", "900"))

# swift-testing's line for a failed test: `✘ Test name() failed after …` (or `recorded an issue`).
FAILED_TEST = re.compile(r"✘ Test (.+?) (?:failed|recorded an issue)")
# XCTest's, for completeness.
FAILED_CASE = re.compile(r"Test Case '-\[(\S+) (\S+)\]' failed")


def fail(message, code=2):
    print(f"mutants: {message}", file=sys.stderr)
    sys.exit(code)


def load():
    with open(os.path.join(ROOT, "scripts", "mutants.toml"), "rb") as handle:
        mutants = tomllib.load(handle).get("mutant", [])
    names = [m.get("name") for m in mutants]
    if len(set(names)) != len(names):
        fail("scripts/mutants.toml: two mutants share a name")
    for m in mutants:
        for key in ("name", "file", "find", "become", "tests"):
            if not m.get(key):
                fail(f"scripts/mutants.toml: mutant {m.get('name', '?')} has no {key}")
        path = os.path.join(ROOT, m["file"])
        if not os.path.isfile(path):
            fail(f"mutant {m['name']}: no file {m['file']}")
        count = open(path, encoding="utf-8").read().count(m["find"])
        if count != 1:
            where = "not found" if count == 0 else f"found {count} times"
            fail(f"mutant {m['name']}: its text is {where} in {m['file']}; bring scripts/mutants.toml in step with the code:\n  {m['find']!r}")
    wanted = os.environ.get("MUTANTS", "").split()
    unknown = [w for w in wanted if w not in names]
    if unknown:
        fail(f"no such mutant: {' '.join(unknown)}")
    return [m for m in mutants if not wanted or m["name"] in wanted]


def copy_tree():
    """Brings the scratch copy in step with the tree as it is (committed or not; what .gitignore
    ignores is left out), rewriting only the files that differ so the build stays incremental."""
    listed = subprocess.run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    wanted = {f for f in listed if f and os.path.isfile(os.path.join(ROOT, f))}
    # The dependency versions the tree builds with (not committed, but the same build wants them).
    if os.path.isfile(os.path.join(ROOT, "Package.resolved")):
        wanted.add("Package.resolved")
    for relative in wanted:
        source, target = os.path.join(ROOT, relative), os.path.join(SRC, relative)
        if os.path.isfile(target) and filecmp.cmp(source, target, shallow=False):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)
    # What the scratch copy's own build writes there (Package.resolved, .swiftpm) stays.
    for directory, subdirectories, files in os.walk(SRC):
        subdirectories[:] = [d for d in subdirectories if d != ".swiftpm"]
        for name in files:
            relative = os.path.relpath(os.path.join(directory, name), SRC)
            if relative not in wanted and relative != "Package.resolved":
                os.remove(os.path.join(directory, name))


def build(log):
    with open(log, "w") as out:
        result = subprocess.run([SWIFT, "build", "--build-tests", "--package-path", SRC, "--scratch-path", BUILD],
                                stdout=out, stderr=subprocess.STDOUT)
    return result.returncode == 0


def run_tests(filters, log):
    """Runs the suites; returns (exit status or None on timeout, failing test names)."""
    command = [SWIFT, "test", "--skip-build", "--package-path", SRC, "--scratch-path", BUILD]
    for f in filters:
        command += ["--filter", f]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status = process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            status = None
    text = open(log, encoding="utf-8", errors="replace").read()
    failed = []
    for match in FAILED_TEST.finditer(text):
        # `refused(_:) with 35 test cases`, `refused(_:) … with 1 argument hostile → …`: the test's name.
        name = match.group(1).split(" with ")[0].strip('"')
        if name == "run":
            continue  # the summary line, not a test
        if name not in failed:
            failed.append(name)
    for match in FAILED_CASE.finditer(text):
        name = f"{match.group(1)}.{match.group(2)}"
        if name not in failed:
            failed.append(name)
    return status, failed


def main():
    mutants = load()
    os.makedirs(LOGS, exist_ok=True)
    started = time.monotonic()
    copy_tree()
    print(f"mutants: building the scratch copy in {os.path.relpath(BUILD, ROOT)} (the first build takes minutes)", flush=True)
    if not build(os.path.join(LOGS, "build.log")):
        fail(f"the unchanged tree does not build; see {os.path.relpath(LOGS, ROOT)}/build.log")
    if os.environ.get("MUTANTS_BASELINE", "1") != "0":
        filters = sorted({f for m in mutants for f in m["tests"]})
        status, failed = run_tests(filters, os.path.join(LOGS, "baseline.log"))
        if status != 0:
            fail(f"the suites fail without any mutant ({', '.join(failed) or 'see the log'}); see {os.path.relpath(LOGS, ROOT)}/baseline.log")
        print(f"mutants: baseline passes ({int(time.monotonic() - started)} s so far)", flush=True)

    rows = []
    for m in mutants:
        path = os.path.join(SRC, m["file"])
        original = open(path, encoding="utf-8").read()
        began = time.monotonic()
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(original.replace(m["find"], m["become"], 1))
            log = os.path.join(LOGS, f"{m['name']}.log")
            if not build(log):
                rows.append((m["name"], "ERROR: does not build (see log)", "error", time.monotonic() - began))
            else:
                status, failed = run_tests(m["tests"], log)
                if status is None:
                    verdict, outcome = f"TIMEOUT after {TIMEOUT} s", "timeout"
                elif failed:
                    more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
                    verdict, outcome = failed[0] + more, "killed"
                elif status != 0:
                    verdict, outcome = f"the test run failed (exit {status}; see log)", "killed"
                else:
                    verdict, outcome = "SURVIVED", "survived"
                rows.append((m["name"], verdict, outcome, time.monotonic() - began))
        finally:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(original)
        name, verdict, _, took = rows[-1]
        print(f"  {name:<28} {verdict}  ({int(took)} s)", flush=True)

    width = max(len(r[0]) for r in rows) if rows else 6
    lines = [f"{'mutant':<{width}}  {'s':>4}  killed by", f"{'-' * width}  {'-' * 4}  {'-' * 9}"]
    lines += [f"{name:<{width}}  {int(took):>4}  {verdict}" for name, verdict, _, took in rows]
    total = int(time.monotonic() - started)
    lines.append(f"{len(rows)} mutants in {total // 60} min {total % 60} s; logs in {os.path.relpath(LOGS, ROOT)}/")
    report = "\n".join(lines)
    print("\n" + report)
    with open(os.path.join(WORK, "report.txt"), "w") as handle:
        handle.write(report + "\n")
    outcomes = {r[2] for r in rows}
    if "error" in outcomes:
        sys.exit(2)
    if outcomes & {"survived", "timeout"}:
        sys.exit(1)


if __name__ == "__main__":
    main()
