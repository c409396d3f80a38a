"""Run the m2mauth benchmarks and write tests/benchmarks/RESULTS.md.

    python tests/benchmarks/run.py            # the full run (a few minutes on 2 cores)
    python tests/benchmarks/run.py --quick    # CI-sized: fewer rounds, shorter windows
    python tests/benchmarks/run.py --only 1,4 --output /tmp/results.md

Every number is a ratio or a count measured side by side in this run against a baseline; no
benchmark asserts an absolute time. The exit status is 0 whether or not a target is met (the
verdicts are in the report); it is 1 only when a benchmark crashes, and 2 when ``--strict`` is
given and a target is not met.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import HERE, Section, Verdict, machine_info, markdown_table, prepare_environment

BENCHMARKS: dict[int, tuple[str, str]] = {
    1: ("bench_overhead", "Per-request overhead with a cached token"),
    2: ("bench_threads", "Token requests under 16 threads"),
    3: ("bench_processes", "Token requests across processes and a Dask cluster"),
    4: ("bench_assertions", "RS256 assertions per second"),
    5: ("bench_import", "Import time"),
    6: ("bench_r", "R: req_auth_m2m() per request, and the first call"),
    7: ("bench_cdse", "CDSE: token requests and sessions, 8 processes sharing a FileStore"),
}


def _run_one(number: int, quick: bool) -> Section:
    module_name, title = BENCHMARKS[number]
    started = time.monotonic()
    try:
        module = __import__(module_name)
        runner: Callable[[bool], Section] = module.run
        section = runner(quick)
    except Exception:
        section = Section(number, title, "crashed")
        section.notes.append("```\n" + traceback.format_exc().rstrip() + "\n```")
        section.verdicts.append(Verdict("(benchmark ran)", "crashed", False, "see the traceback"))
    section.seconds = time.monotonic() - started
    return section


def render(sections: list[Section], machine: list[tuple[str, str]], quick: bool, total: float) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "--quick" if quick else "full"
    out = [
        "# m2mauth benchmark results",
        "",
        f"Written by `python tests/benchmarks/run.py{' --quick' if quick else ''}` ({mode} run) on {now}, "
        f"in {total:.0f} s. Every figure is a ratio or a count measured side by side in this one run on "
        "this machine, against a baseline run in the same process (or, for import time, the same "
        "machine run); servers on 127.0.0.1 only. See README.md beside this file for what each measures.",
        "",
        "## Machine",
        "",
        markdown_table(["", ""], [[name, value] for name, value in machine]),
        "",
        "## Targets",
        "",
    ]
    rows = []
    for section in sections:
        for verdict in section.verdicts:
            rows.append([str(section.number), verdict.target, verdict.measured, f"**{verdict.word}**", verdict.why])
    out += [markdown_table(["#", "target", "measured", "verdict", "why"], rows), ""]
    for section in sections:
        out += [f"## {section.number}. {section.title}", "", section.what, ""]
        for header, table_rows in section.tables:
            out += [markdown_table(header, table_rows), ""]
        for note in section.notes:
            out += [note if note.startswith("```") else f"- {note}", ""]
        out += [f"_{section.seconds:.0f} s_", ""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized run: fewer rounds, shorter windows")
    parser.add_argument("--only", default="", help="comma-separated benchmark numbers (default: all)")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md", help="where to write the report")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is not met")
    args = parser.parse_args(argv)
    chosen = sorted({int(x) for x in args.only.split(",") if x.strip()}) or sorted(BENCHMARKS)
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark {unknown}; choose from {sorted(BENCHMARKS)}")

    prepare_environment()
    machine = machine_info()
    started = time.monotonic()
    sections = []
    for number in chosen:
        print(f"[bench] {number}. {BENCHMARKS[number][1]} ...", flush=True)
        section = _run_one(number, args.quick)
        sections.append(section)
        for verdict in section.verdicts:
            print(f"[bench]    {verdict.word:8} {verdict.target}: {verdict.measured}", flush=True)
        print(f"[bench]    ({section.seconds:.0f} s)", flush=True)
    total = time.monotonic() - started
    args.output.write_text(render(sections, machine, args.quick, total), encoding="utf-8")
    print(f"[bench] wrote {args.output} ({total:.0f} s)")
    crashed = any(v.measured == "crashed" for s in sections for v in s.verdicts)
    missed = any(v.met is False for s in sections for v in s.verdicts)
    if crashed:
        return 1
    return 2 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
