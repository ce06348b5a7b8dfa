#!/usr/bin/env python3
"""Mutation run: random corruptions of a fixture's DICOM files through the binary.

Each round copies a fixture folder, corrupts one of its files (a few bytes overwritten,
bytes inserted, bytes deleted, or the file cut short) and runs `check`, `dvh` or `inspect`
on the copy with 1 or 2 threads. A round fails when the binary panics, times out or exits
with a code outside the contract (0 PASS, 1 FAIL, 2 usage, 3 cannot evaluate). A PASS on a
corrupted copy is not a failure by itself (a changed digit of a coordinate or a voxel is a
valid file), but it is counted by kind and kept for review: bytes inserted or deleted
inside a value, or a cut, should not pass unless whole elements were removed.

  scripts/mutate_fixture.py --bin target/release/sbrt-verify --fixture fixtures/trial_pass \\
      --seconds 300 --seed 1 [--keep DIR]

Prints the rounds, the outcomes by mutation kind and file, and exits 1 if any round failed.
"""
import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

KINDS = ("overwrite", "insert", "delete", "cut")


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    b = bytearray(data)
    if kind == "overwrite":
        for _ in range(rng.randrange(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == "insert":
        at = rng.randrange(len(b))
        b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
    elif kind == "delete":
        at = rng.randrange(len(b))
        del b[at:min(len(b), at + rng.randrange(1, 64))]
    else:
        b = b[:rng.randrange(len(b))]
    return bytes(b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="folder to keep failing cases and passing structural mutants in")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    names = sorted(n for n in os.listdir(a.fixture) if n.lower().endswith(".dcm"))
    files = {n: open(os.path.join(a.fixture, n), "rb").read() for n in names}
    outcomes = collections.Counter()
    failures = 0
    rounds = 0
    work = tempfile.mkdtemp()
    end = time.time() + a.seconds
    while time.time() < end:
        case = os.path.join(work, "case")
        shutil.rmtree(case, ignore_errors=True)
        os.makedirs(case)
        victim, kind = rng.choice(names), rng.choice(KINDS)
        for n, data in files.items():
            with open(os.path.join(case, n), "wb") as f:
                f.write(mutate(data, kind, rng) if n == victim else data)
        command = rng.choice(["check", "dvh", "inspect"])
        argv = [a.bin, command, case] + rng.choice([[], ["--format", "json"]])
        env = dict(os.environ, RAYON_NUM_THREADS=str(rng.choice([1, 2])))
        try:
            r = subprocess.run(argv, capture_output=True, timeout=30, env=env)
            code, err = r.returncode, r.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired:
            code, err = "timeout", ""
        rounds += 1
        failed = code not in (0, 1, 2, 3) or "panicked" in err
        passed = command == "check" and code == 0
        outcome = "FAILED" if failed else ("PASS" if passed else f"exit {code}")
        outcomes[(kind, victim, outcome)] += 1
        if failed:
            failures += 1
            print(f"FAILED round {rounds}: {command} {victim} {kind}: "
                  f"exit {code}: {err.strip()[-300:]}", flush=True)
        if a.keep and (failed or (passed and kind != "overwrite")):
            shutil.copytree(case, os.path.join(a.keep, f"round{rounds}_{kind}_{victim}"))
    shutil.rmtree(work, ignore_errors=True)
    print(f"{rounds} rounds, seed {a.seed}, {a.fixture}; {failures} failed")
    for (kind, victim, outcome), n in sorted(outcomes.items()):
        print(f"  {kind:9s} {victim:8s} {outcome:8s} {n}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
