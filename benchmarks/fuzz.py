"""Fuzz every file loader: ``python -m benchmarks.fuzz [--quick] [--files N] [--seed S]``.

Writes N broken files (mutated shipped files, binary, wrong encodings, alias bombs, deep
nesting, huge numbers; see :mod:`tests.fuzz_inputs`) and loads each with its loader. Prints
the count of files, of unhandled exceptions (anything but the project's own one-line error
with file:line:col), the slowest load and the peak RSS growth. Target: 0 unhandled in
>= 10,000 files.
"""

from __future__ import annotations

import argparse
import collections
import random
import resource
import tempfile
import time
from pathlib import Path

from tests.fuzz_inputs import LOADERS, broken_file, check_one, seeds


def run(files: int, seed: int) -> dict[str, float]:
    """Fuzz ``files`` files; returns the figures and prints the first problems found."""
    rng = random.Random(seed)
    texts = seeds()
    problems: collections.Counter[str] = collections.Counter()
    slowest = 0.0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qc-fuzz-") as tmp:
        path = Path(tmp) / "fuzzed.yaml"
        for _ in range(files):
            kind = rng.choice(sorted(LOADERS))
            path.write_bytes(broken_file(rng, kind, texts[kind]))
            start = time.perf_counter()
            problem = check_one(kind, path)
            slowest = max(slowest, time.perf_counter() - start)
            if problem is not None:
                problems[problem[:160]] += 1
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    for problem, count in problems.most_common(10):
        print(f"  {count} x {problem}")
    return {"files": files, "unhandled": sum(problems.values()), "slowest_load_s": slowest,
            "peak_rss_growth_mb": rss_growth_mb, "wall_s": time.perf_counter() - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 files instead of 10,000")
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    files = args.files or (300 if args.quick else 10_000)
    figures = run(files, args.seed)
    print(" | ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in figures.items()))


if __name__ == "__main__":
    main()
