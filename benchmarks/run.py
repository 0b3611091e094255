"""Run every benchmark in order and print one summary table.

    python3 -m pip install -e ".[bench]" && python3 benchmarks/run.py [--quick] [--only NAME,...]

Each ``benchmarks/bench_<name>.py`` also runs alone. ``--quick`` runs them on smaller data and
fewer rounds (a smoke test: the targets are stated for the full sizes). The exit status is 1
when a benchmark reported a wrong result (not for a missed target: the table says that).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for entry in (str(HERE.parent), str(HERE)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import common  # noqa: E402

ORDER = ["query", "encode", "buckets", "write", "cold_start", "host", "jsonl"]
QUICK = {
    "query": ["--rows", "100000", "--rounds", "3"],
    "encode": ["--records", "100000", "--rounds", "3"],
    "buckets": ["--calls", "200", "--rounds", "3"],
    "write": ["--records", "100000", "--rounds", "3"],
    "cold_start": ["--runs", "7"],
    "host": ["--calls", "200", "--rounds", "3", "--rows", "100000", "--stream-rounds", "2", "--per-client", "20"],
    "jsonl": ["--rows", "100000", "--rounds", "3"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer rounds")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. query,write")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or ORDER
    status = 0
    started = time.perf_counter()
    for name in names:
        if not (HERE / f"bench_{name}.py").exists():
            print(f"# bench_{name}.py is not there: skipped")
            continue
        module = importlib.import_module(f"bench_{name}")
        print(flush=True)
        try:
            code = module.main(QUICK.get(name, []) if args.quick else [])
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"# bench_{name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            code = 1
        status = status or code
    common.print_summary()
    print(f"\n{len(common.RESULTS)} figures in {time.perf_counter() - started:.0f} s; python {sys.version.split()[0]}")
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
