"""The command line: `python -m lnorm_core.timing` prints a table, or writes the report as JSON.

    python -m lnorm_core.timing --quick              # a table on stdout, a progress bar on stderr
    python -m lnorm_core.timing --json report.json   # the report as JSON (see load_report)
"""

import argparse
import json
import sys

from ..errors import MAX_TIMING_ELEMENTS, MAX_TIMING_SECONDS, InputError
from ..spec import KINDS
from .impls import DEFAULT_IMPLS, IMPLS
from .measure import DEFAULT_MIN_RUN_TIME, MAX_REPEATS, QUICK_MIN_RUN_TIME, run_timing
from .report import format_table
from .sizes import QUICK_MAX_ELEMENTS, QUICK_MIN_ELEMENTS, check_max_elements, check_sizes, sweep_sizes


def terminal_progress(done, total, label):
    """A one-line progress bar on stderr, redrawn in place."""
    width = 28
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:48]:<48}")
    if label in ("done", "stopped: time budget"):
        sys.stderr.write("\n")
    sys.stderr.flush()


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m lnorm_core.timing",
        description="Time PyTorch normalizations against the memory-bandwidth ceiling (a plain copy).")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, from {','.join(KINDS)}")
    p.add_argument("--impls", default=",".join(DEFAULT_IMPLS),
                   help=f"comma-separated, from {','.join(IMPLS)} (default %(default)s)")
    p.add_argument("--devices", default=None, help="comma-separated, from cpu,cuda,mps (default: all available)")
    p.add_argument("--dtypes", default=None,
                   help="comma-separated, from float32,bfloat16,float16 (CPU times float32 only)")
    p.add_argument("--max-elements", type=int, default=None,
                   help=f"largest tensor in elements (at most {MAX_TIMING_ELEMENTS}, the default; "
                        f"{QUICK_MAX_ELEMENTS} with --quick)")
    p.add_argument("--sizes", default=None,
                   help="comma-separated sizes in elements, powers of two (default: the sweep up to --max-elements)")
    p.add_argument("--min-run-time", type=float, default=None,
                   help=f"seconds per measurement (default {DEFAULT_MIN_RUN_TIME}; --quick: {QUICK_MIN_RUN_TIME})")
    p.add_argument("--repeats", type=int, default=1,
                   help=f"take each measurement this many times, in turn, and report the median "
                        f"(1 to {MAX_REPEATS}; default %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="sizes 2**14, 2**17, 2**20 and short measurements: well under a minute on 2 cores")
    p.add_argument("--json", metavar="FILE", default=None, help="write the report as JSON instead of a table")
    p.add_argument("--time-budget", type=float, default=MAX_TIMING_SECONDS,
                   help=f"start no measurement after this many seconds (at most {MAX_TIMING_SECONDS:g})")
    return p


def main(argv=None):
    """The command line: prints a table, or writes --json FILE; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        default_max = QUICK_MAX_ELEMENTS if args.quick else MAX_TIMING_ELEMENTS
        max_elements = default_max if args.max_elements is None else check_max_elements(args.max_elements)
        if args.sizes is not None:
            try:
                sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
            except ValueError:
                raise InputError(f"--sizes must be whole numbers separated by commas, got {args.sizes!r}") from None
            sizes = check_sizes(sizes, MAX_TIMING_ELEMENTS if args.max_elements is None else max_elements)
        elif args.quick:
            sizes = sweep_sizes(max_elements, min_elements=QUICK_MIN_ELEMENTS, factor=8)
        else:
            sizes = sweep_sizes(max_elements)
        min_run_time = args.min_run_time
        if min_run_time is None:
            min_run_time = QUICK_MIN_RUN_TIME if args.quick else DEFAULT_MIN_RUN_TIME
        report = run_timing(
            kinds=args.kinds, impls=args.impls, devices=args.devices, dtypes=args.dtypes, sizes=sizes,
            min_run_time=min_run_time, time_budget_s=args.time_budget, repeats=args.repeats,
            progress=terminal_progress if sys.stderr.isatty() else None)
    except InputError as e:
        print(f"lnorm_core.timing: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, allow_nan=False)
            f.write("\n")
    else:
        print(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
