#!/usr/bin/env python3
"""Writes a package-like tree for unpack tests and benchmarks: about MIB mebibytes in FILES entries
(files, directories and symlinks together), spread over nested directories, with executables, a few multi-megabyte binaries and relative symlinks.
File contents are half random, half text, so archives compress about as much as real node packages.
The same seed gives the same tree.

usage: make-sample-tree.py DIR [--mib 200] [--files 2000] [--seed 7]
"""
import argparse
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("root")
parser.add_argument("--mib", type=int, default=200)
parser.add_argument("--files", type=int, default=2000)
parser.add_argument("--seed", type=int, default=7)
args = parser.parse_args()

rng = random.Random(args.seed)
budget = args.mib << 20
pool = rng.randbytes(16 << 20)
directories = [f"pkg/d{i:02d}/sub{j}" for i in range(20) for j in range(2)] + ["bin", "lib", "share/doc"]
for directory in directories:
    os.makedirs(os.path.join(args.root, directory), exist_ok=True)

def content(size, serial):
    half = size // 2
    start = rng.randrange(0, len(pool) - half)
    text = (b"line %d of a package file; nodes fetch many of these\n" % serial) * (size // 50 + 1)
    return pool[start:start + half] + text[: size - half]

symlinks = 40
# Every directory counts as an entry, the parents the list only implies too.
every_directory = {"/".join(d.split("/")[:n]) for d in directories for n in range(1, d.count("/") + 2)}
files = max(1, args.files - len(every_directory) - symlinks)
big = [8 << 20] * 3  # a kubelet-sized handful, copied in many blocks
average = max(1, (budget - sum(big)) // max(1, files - len(big)))
written = 0
for serial in range(files):
    size = big[serial] if serial < len(big) else rng.randint(1, 2 * average)
    directory = "bin" if serial < len(big) else directories[serial % len(directories)]
    path = os.path.join(args.root, directory, f"f{serial:04d}.bin")
    with open(path, "wb") as f:
        f.write(content(size, serial))
    os.chmod(path, 0o755 if serial % 7 == 0 or directory == "bin" else 0o644)
    written += size

for k in range(symlinks):
    directory = directories[k % 40]
    os.symlink("../sub0" if k % 2 else f"f{(k % 40) + 40:04d}.bin", os.path.join(args.root, directory, f"link{k}"))

print(f"{files} files, {symlinks} symlinks, {len(every_directory)} directories, {written / (1 << 20):.1f} MiB")
