"""How long parse_tensor takes to refuse its worst pastes, and that the time is linear in the text.

    python bench/parse_speed.py

Many people share one server, so a bad paste of MAX_PASTE_CHARS characters must be refused
quickly: the parser reads brackets, not characters, in Python and checks the text between them
with regular expressions, each one forward pass. tests/core/test_parse.py checks what each refusal
says; this prints how long it takes (a test never asserts a time):

  1. each worst paste of tests/huge_pastes.py, about MAX_PASTE_CHARS characters;
  2. four kinds of them built at 1/8, 1/4, 1/2 and all of the limit: linear means the time
     doubles with the text.

Times are the median of REPEATS refusals, in CPU time of this process (time.process_time), so
other work on a shared machine does not count; building the text is not timed.
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run from anywhere: the repo's lnorm_core and cases
import lnorm_core as lc  # noqa: E402
from huge_pastes import HUGE_BAD_PASTES  # noqa: E402

REPEATS = 5
FRACTIONS = (8, 4, 2, 1)  # the sweep's sizes: MAX_PASTE_CHARS // each

# Families of bad pastes of about `chars` characters, one per way the reader walks the text.
SWEEP = {
    "junk at the end of a flat list": lambda chars: "[" + "1," * (chars // 2 - 2) + "x]",
    "ragged last of many rows": lambda chars: "[" + "[1]," * (chars // 4 - 2) + "[1, 2]]",
    "ragged last of many matrices": lambda chars: "[" + "[[1, 2], [3, 4]]," * (chars // 17 - 2) + "[[1, 2], [3]]]",
    "many suffixes, then junk": lambda chars: "tensor([1.]" + ", a=1" * (chars // 5 - 4) + ", b=)",
}


def refusal_seconds(text):
    """The median CPU seconds parse_tensor takes to refuse text."""
    times = []
    for _ in range(REPEATS):
        start = time.process_time()
        try:
            lc.parse_tensor(text)
        except lc.InputError:
            times.append(time.process_time() - start)
        else:
            raise SystemExit(f"not refused: {text[:40]!r}...")
    return statistics.median(times)


def main():
    print(f"# python {sys.version.split()[0]}; CPU ms of one refusal, median of {REPEATS}")
    rows = []
    for case_id, make, *_ in HUGE_BAD_PASTES:
        text = make()
        rows.append((refusal_seconds(text) * 1e3, case_id, len(text)))
    print(f"{'worst paste, slowest first':<32} {'chars':>11} {'ms':>8}")
    for ms, case_id, chars in sorted(rows, reverse=True):
        print(f"{case_id:<32} {chars:>11,} {ms:>8.1f}")
    print()
    sizes = [lc.MAX_PASTE_CHARS // f for f in FRACTIONS]
    print(f"{'ms at each length of text':<32}" + "".join(f"{n / 1e6:>8g}M" for n in sizes))
    for name, make in SWEEP.items():
        print(f"{name:<32}" + "".join(f"{refusal_seconds(make(n)) * 1e3:>9.1f}" for n in sizes))


if __name__ == "__main__":
    main()
