"""The long fuzz of the pages: thousands of links a person can reach, each opened under AppTest.

Draws links from tests/page_links.py (the strategy tests/app/test_views_space.py runs 40 of in CI)
and checks each with the same property: no exception, never the catch-all message, torch's
own words wherever torch.nn refuses the layer and no error where it computes. Unlike the test,
it does not stop at the first failure: it keeps going, groups the failures by what went wrong
and prints the smallest link of each group, with the number of links run and the time taken.

    python bench/fuzz_pages.py                      # 2000 links, about 30-40 minutes on 2 cores
    python bench/fuzz_pages.py --examples 200 --pages compare --seed 3

It runs one page at a time in this process; run it alone on a shared machine.
"""

import argparse
import logging
import re
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

import page_links  # noqa: E402

PAGES = ("explorer", "compare", "pitfalls", "timing")


def signature(error):
    """What went wrong, without the link: the failures of one bug share it."""
    text = str(error)
    text = text.split("): ", 1)[-1] if text.startswith("Link(") else f"{type(error).__name__}: {text}"
    return re.sub(r"\d+", "#", text.splitlines()[0] if text else "")[:200]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="links to open (default 2000)")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES), help="the pages to draw")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed: the same seed draws the same links")
    args = parser.parse_args(argv)
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "missing ScriptRunContext" on every AppTest
    warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow and 0/0 warnings: NaN is a result here

    failures = defaultdict(list)  # signature -> [(size of the link, link, message)]
    count = 0
    start = time.monotonic()

    @seed(args.seed)
    @settings(max_examples=args.examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(page_links.links(pages=tuple(args.pages)))
    def fuzz(link):
        nonlocal count
        count += 1
        try:
            page_links.check_link_opens(link)
        except Exception as e:  # noqa: BLE001 - every failure is recorded, none stops the run
            size = 0 if link.x is None else link.x.numel()
            failures[signature(e)].append((size, len(repr(link.params)), link, str(e)))
            print(f"[{count}] FAIL {signature(e)}", flush=True)
        if count % 100 == 0:
            print(f"[{count}] {time.monotonic() - start:.0f} s, {sum(map(len, failures.values()))} failures",
                  flush=True)

    fuzz()
    elapsed = time.monotonic() - start
    print(f"\n{count} links in {elapsed:.0f} s ({elapsed / max(count, 1):.2f} s a link), seed {args.seed}, "
          f"pages {', '.join(args.pages)}: {sum(map(len, failures.values()))} failures in {len(failures)} groups")
    for sig, found in sorted(failures.items(), key=lambda kv: -len(kv[1])):
        size, _, link, message = min(found, key=lambda f: f[:2])
        print(f"\n{len(found)} x {sig}\n  smallest: {link}\n  {message[:2000]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
