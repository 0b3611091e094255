"""Cold start of the command line, against a bare import of its dependencies.

Wall time of a fresh process, medians of ``--runs`` interleaved runs after one warm-up each:

- ``influx-connector operations`` (the installed console script; ``python3 -m
  influx_connector operations`` where it is not on PATH), output discarded;
- ``python3 -c "import yaml, jsonschema, requests, pluggy"``.

The goal is the difference: at most 50 ms with the manifest cache filled (every run but the
first), and at most 150 ms for the first run after an install, when the data source is compiled
from YAML and stored (each such run gets an empty cache folder of its own).

    python3 benchmarks/bench_cold_start.py [--runs N] [--profile]

``--profile`` prints the slowest imports of the command (``python3 -X importtime``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import ROOT, median, report


def command() -> list[str]:
    script = shutil.which("influx-connector")
    if script:
        return [script, "operations"]
    return [sys.executable, "-m", "influx_connector", "operations"]


BASELINE = [sys.executable, "-c", "import yaml, jsonschema, requests, pluggy"]


def wall(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT, env=env)
    return time.perf_counter() - started


def first_run(argv: list[str], scratch: str, index: int) -> float:
    """A run with an empty manifest cache, as right after an install."""
    folder = os.path.join(scratch, f"cache-{index}")
    return wall(argv, {**os.environ, "INFLUX_CONNECTOR_CACHE": folder})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--profile", action="store_true", help="also show the command's slowest imports")
    args = parser.parse_args(argv)

    ours_argv = command()
    print(f"# cold start: {' '.join(os.path.basename(a) for a in ours_argv[:2])} ... vs a bare import of its "
          f"dependencies, {args.runs} runs interleaved", flush=True)
    wall(ours_argv)  # warm the disk cache and the connector's manifest cache
    wall(BASELINE)
    ours: list[float] = []
    first: list[float] = []
    base: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(args.runs):
            runs = [lambda: ours.append(wall(ours_argv)), lambda: base.append(wall(BASELINE)),
                    lambda: first.append(first_run(ours_argv, scratch, index))]  # noqa: B023 - run at once
            for run in runs[index % 3:] + runs[:index % 3]:
                run()
    report("5", "cold start: `influx-connector operations` vs bare import", median(ours) * 1000, median(base) * 1000,
           "ms", "diff<=50")
    report("5", "first run after an install (empty cache) vs bare import", median(first) * 1000,
           median(base) * 1000, "ms", "diff<=150")
    if args.profile:
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "influx_connector", "operations"],
                              capture_output=True, text=True, cwd=ROOT)
        rows = []
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                rows.append((int(parts[1]), parts[2].rstrip()))
        for cumulative, name in sorted(rows, reverse=True)[:20]:
            print(f"{cumulative / 1000:8.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
