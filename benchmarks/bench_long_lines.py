"""Decoding time of one very long annotated-CSV line, at growing sizes: it should grow in
proportion to the line (linear), not with its square.

The answer is one table of three rows whose middle row holds a string cell of N MiB, decoded
the ways the connector reads an answer: from 64 KiB byte chunks (``lines_from_chunks``, as an
HTTP answer arrives: the fast path), and from a line iterator (the reference path), with the
cell plain or quoted (a quoted cell goes through the CSV record reader). For each it prints
seconds and seconds per MiB; the per-MiB figure should stay about the same from the smallest
size to the largest (goal: within 2x; lines of a few MiB still fit the CPU's cache and go
faster per MiB, which is why the sizes start at 16). The largest size, 63 MiB, is just under
the 64 Mi character cell limit. Before the fix the 63 MiB line took 18-26 s on the fast path,
about 50 times its per-MiB time at 4 MiB: quadratic.

    python3 benchmarks/bench_long_lines.py [--sizes 16,32,63] [--rounds 3]
"""
from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from typing import Any

from common import ROOT, MiB, interleave, median, report

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HEADER = ("#datatype,string,long,dateTime:RFC3339,string,string\r\n"
          "#group,false,false,false,false,true\r\n"
          "#default,_result,,,,\r\n"
          ",result,table,_time,_value,_field\r\n")


def make_answer(size: int, quoted: bool) -> bytes:
    cell = "x" * size
    if quoted:
        cell = '"' + cell[:-2] + ',"'  # a comma inside: the cell must be quoted
    rows = [f",,0,2023-01-01T00:00:0{i}Z,{cell if i == 1 else 'short'},f\r\n" for i in range(3)]
    return (HEADER + "".join(rows) + "\r\n").encode()


def decoders(answer: bytes) -> dict[str, Callable[[], Any]]:
    from influx_connector.influxdb.annotated_csv import decode, lines_from_chunks

    def chunks() -> Any:
        return (answer[at:at + 65536] for at in range(0, len(answer), 65536))

    def from_chunks() -> int:
        return len(decode(lines_from_chunks(chunks())))

    def from_lines() -> int:
        return len(decode(iter(io.StringIO(answer.decode(), newline=""))))

    return {"chunks (fast path)": from_chunks, "lines (reference path)": from_lines}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="16,32,63", help="cell sizes in MiB, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    for quoted in (False, True):
        per_mib: dict[str, list[float]] = {}
        for size in sizes:
            answer = make_answer(size * MiB, quoted)
            cases = decoders(answer)
            for name, fn in cases.items():
                assert fn() == 3, name
            times = interleave(cases, rounds=args.rounds, warmup=0)
            for name, values in times.items():
                seconds = median(values)
                per_mib.setdefault(name, []).append(seconds / size)
                kind = "quoted" if quoted else "plain"
                print(f"{kind:<6} {name:<24} {size:>4} MiB  {seconds:8.3f} s  {seconds / size * 1000:8.2f} ms/MiB")
        for name, values in per_mib.items():
            kind = "quoted" if quoted else "plain"
            # Linear time: the largest line costs about what the smallest does per MiB.
            report("6", f"{kind} {name}: ms/MiB at {sizes[-1]} vs {sizes[0]} MiB",
                   values[-1] * 1000, values[0] * 1000, "ms/MiB", "<=2x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
