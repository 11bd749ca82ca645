"""The parser's worst pastes: bad text of about MAX_PASTE_CHARS characters, built on demand.

Each case is (id, make, keywords): make() builds the text, and its refusal must contain every
keyword, the place included. tests/core/test_parse.py checks the refusals; bench/parse_speed.py
times them (a test never asserts a time).

Every place is counted from the construction, not read from the parser: after "[" and n
items of k characters, the next item's first character is at column k * n + 2.
"""

from lnorm_core.errors import MAX_NESTING, MAX_PASTE_CHARS

N = MAX_PASTE_CHARS
FLAT = N // 2 - 10  # "1," items before the junk of junk-at-end-of-flat
ROWS = 499_990  # "[1]," rows, 4 characters each
LISTS = 333_000  # "[[1]]," lists, 6 characters each
MATRICES = 110_000  # "[[1, 2], [3, 4]]," matrices, 17 characters each
FIRST_ROW = 999_000  # "1," items in the first row of junk-at-end-of-first-row
CHUNKS = 249_000  # "[1, 2, 3" chunks, 8 characters each
SUFFIXES = 300_000  # ", a=1" suffixes, 5 characters each

HUGE_BAD_PASTES = [
    ("over-the-limit", lambda: "1" * (N + 1),
     "the pasted text has 2,000,001 characters; the limit is 2,000,000"),
    ("10x-over-the-limit", lambda: "[" * (10 * N),
     "the pasted text has 20,000,000 characters; the limit is 2,000,000"),
    ("2M-open-brackets", lambda: "[" * N,
     f"nested more than {MAX_NESTING} deep at line 1, column {MAX_NESTING + 1}"),
    ("10000-deep", lambda: "[" * 10_000 + "1" + "]" * 10_000,
     f"nested more than {MAX_NESTING} deep at line 1, column {MAX_NESTING + 1}"),
    ("1,-repeated", lambda: "1," * (N // 2),
     "unexpected text ',' at line 1, column 2", "inside a list"),
    ("unclosed-flat", lambda: "[" + "1," * (N // 2 - 1),
     "the '[' at line 1, column 1 is never closed"),
    ("junk-at-end-of-flat", lambda: "[" + "1," * FLAT + "x]",
     f"unexpected text 'x' at line 1, column {2 * FLAT + 2}"),
    ("only-commas", lambda: "[" + "," * (N - 2) + "]",
     "unexpected text ',' at line 1, column 2"),
    ("spaces-then-junk", lambda: " " * (N - 1) + "x",
     f"unexpected text 'x' at line 1, column {N}"),
    ("newlines-then-junk", lambda: "\n" * (N - 1) + "x",
     f"unexpected text 'x' at line {N}, column 1"),
    ("ragged-last-of-500k-rows", lambda: "[" + "[1]," * ROWS + "[1, 2]]",
     f"row {ROWS + 1} has 2 values, row 1 has 1 (row {ROWS + 1} ends at line 1, column {4 * ROWS + 7})"),
    ("junk-in-last-of-500k-rows", lambda: "[" + "[1]," * ROWS + "[1x]]",
     f"unexpected text 'x' at line 1, column {4 * ROWS + 4}"),
    ("missing-comma-after-500k-rows", lambda: "[" + "[1]," * ROWS + "[1]" + "[1]]",
     f"unexpected text '[' at line 1, column {4 * ROWS + 5}; expected ','"),
    ("number-after-500k-rows", lambda: "[" + "[1]," * ROWS + "1]",
     f"at [{ROWS}]: a number where a list was expected, at line 1, column {4 * ROWS + 2}"),
    ("ragged-after-333k-lists", lambda: "[" + "[[1]]," * LISTS + "[[1], [2]]]",
     f"at [{LISTS}]: 2 lists, expected 1 as at [0] (ends at line 1, column {6 * LISTS + 11})"),
    ("ragged-after-110k-matrices", lambda: "[" + "[[1, 2], [3, 4]]," * MATRICES + "[[1, 2], [3, 4, 5]]]",
     f"at [{MATRICES}][1]: 3 values, expected 2 as at [0][0] (ends at line 1, column {17 * MATRICES + 19})"),
    ("junk-at-end-of-first-row", lambda: "[[" + "1," * FIRST_ROW + "x]]",
     f"unexpected text 'x' at line 1, column {2 * FIRST_ROW + 3}"),
    ("every-other-row-ragged", lambda: "[" + "[1, 2], [1]," * 150_000 + "]",
     "row 2 has 1 value, row 1 has 2 (row 2 ends at line 1, column 12)"),
    ("summarized-at-end", lambda: "[1, 2, 3" * CHUNKS + "...",
     f"summarized: '...' at line 1, column {8 * CHUNKS + 1}"),
    ("300k-suffixes-then-junk", lambda: "tensor([1.]" + ", a=1" * SUFFIXES + ", b=)",
     f"unexpected text ',' at line 1, column {5 * SUFFIXES + 12}; expected ')' or ', key=value'"),
    ("unclosed-size-suffix", lambda: "tensor([1.], size=(" + "1, " * 500_000,
     "unexpected text ',' at line 1, column 12; expected ')' or ', key=value'"),
]
