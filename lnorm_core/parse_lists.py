"""Nested lists of numbers as text: the reader under parse_tensor, and where a paste goes wrong.

    read_lists(text, start)   -> (values, shape, end) for the nested lists that open at text[start]
    NUMBER_RE                 one number as Python, torch and numpy print it
    location(text, pos)       "line L, column C" for a message
    unexpected(text, pos)     the InputError for text that does not belong where it stands

The reader loops over brackets, not numbers, and checks the text between two brackets with one
regular expression, so its time is linear in the length of the text, a refusal included
(bench/parse_speed.py prints it). It never recurses, so deep nesting cannot exhaust the stack.
"""

import functools
import math
import re
import sys

from .errors import MAX_DIMS, MAX_ELEMENTS, MAX_NESTING, InputError, shown

# ---------------------------------------------------------------------------------------------
# The pieces of nested lists, as regular expressions
# ---------------------------------------------------------------------------------------------

# One number as Python, torch and numpy print it: 3, -0.5, 1., .5, 1.0e+00, -3.2E4, 1.e-05,
# nan, inf, -inf (nan/inf in any case, and "infinity", as Python's float() reads them).
# Digits are [0-9], not \d: \d would also match other scripts' digits, which float() reads too.
# The lookahead stops "nano" or "info" from reading as nan/inf followed by junk.
_NUM = (
    r"[+-]?(?:"
    r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|(?i:nan|inf(?:inity)?)(?![A-Za-z0-9_])"
    r")"
)
NUMBER_RE = re.compile(_NUM)

# Python 3.11 added possessive quantifiers ("*+") and atomic groups ("(?>...)"): parts of a
# pattern that, once matched, never give back what they took. With them a long run of good
# items followed by a bad one fails in one pass, about three times faster than with the
# plain forms, which first save a backtracking point per item. Python 3.10 (which the
# project also supports) reads the same patterns with the plain forms: the same language,
# still linear time, only slower on huge pastes.
if sys.version_info >= (3, 11):
    _POSSESSIVE, _ATOMIC = "+", "(?>"
else:
    _POSSESSIVE, _ATOMIC = "", "(?:"

# The inside of an innermost list is numbers separated by commas, a trailing comma allowed, or
# nothing at all. It is read in two steps, each a single forward pass: the longest run of
# "number," items (a match, which cannot fail), then what is left must be one last number
# or nothing. Where the second step fails is where the row goes wrong.
_ROW_PREFIX_RE = re.compile(rf"\s*(?:{_NUM}\s*,\s*)*{_POSSESSIVE}")
_ROW_REST_RE = re.compile(rf"(?:{_NUM}\s*)?")

_BRACKET_RE = re.compile(r"[\[\]]")
_BRACKETS_AND_COMMAS_TO_SPACES = str.maketrans("[],", "   ")
SPACE_RE = re.compile(r"\s*")
# What may stand between two bracket events of a list of lists:
_COMMA_RE = re.compile(r"\s*,\s*")  # between "]" and "[": the comma between two sibling lists
_OPTIONAL_COMMA_RE = re.compile(r"\s*,?\s*")  # between "]" and "]": a trailing comma, or none

# The word shown in "unexpected text '...'": a run of characters up to a delimiter.
_WORD_RE = re.compile(r"[^\s\[\](),=]+")


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def location(text: str, pos: int) -> str:
    """'line L, column C' of the character at index pos (both counted from 1)."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1  # rfind gives -1 on the first line
    return f"line {line}, column {column}"


def unexpected(text: str, pos: int, expected: str = "") -> InputError:
    """The error for text at index pos that does not belong there."""
    if pos >= len(text):
        message = f"the text ends too early at {location(text, pos)}"
    else:
        match = _WORD_RE.match(text, pos)
        word = match.group() if match else text[pos]
        message = f"unexpected text {shown(word)} at {location(text, pos)}"
        if word in ("True", "False"):
            expected = "numbers; a bool tensor must be converted with .float() before printing"
    if expected:
        message += f"; expected {expected}"
    return InputError(message)


def _count(n: int, word: str) -> str:
    """'1 value', '3 values'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _path(indices) -> str:
    """The index path of an entry, e.g. [1][0]."""
    return "".join(f"[{i}]" for i in indices)


# ---------------------------------------------------------------------------------------------
# The nested lists
# ---------------------------------------------------------------------------------------------


def read_lists(text: str, start: int):
    """Read the nested lists that open at text[start] == '['.

    Returns (values, shape, end): the numbers in order as a list of floats, the shape, and the
    index just after the closing ']'.

    The loop visits brackets, not numbers; the text between two brackets (a "gap") is checked
    with one regular expression, and the numbers are converted at the end in one go.

    State, one entry per list that is open (outermost first):
      counts[d]   how many entries the open list at depth d has so far. For a list of lists
                  this includes the child now open, so counts[d] - 1 is that child's index.
      opened[d]   where it opened, for the message about a missing ']'.
    And per depth, dims[d]: the size of the first list at that depth to close. That list is
    the one at [0][0]...[0], and every later list at that depth must have the same size.

    The fast path: once the lists at depth d have closed once, dims[d:] is the shape every
    later list at depth d must have, and a run of such sibling lists is matched by one
    regular expression (_sibling_run_re) in one C-level pass. So a paste of half a million
    one-number rows costs a handful of Python steps, not a million. A sibling that does not
    match (a bad one) is read by the slow path, which finds and explains what is wrong.
    """
    counts: list[int] = []
    opened: list[int] = []
    dims: list[int | None] = [None] * MAX_NESTING
    leaf_depth = None  # the depth of the innermost lists, ndim - 1; known once the first closes
    n_values = 0  # numbers seen so far, checked against MAX_ELEMENTS
    previous = ""  # the bracket before this one: "[" or "]" ("" before the first)
    gap_start = start  # where the text after the previous bracket begins

    while True:
        bracket = _BRACKET_RE.search(text, gap_start)
        if bracket is None:  # the text ended with lists still open
            raise InputError(f"the '[' at {location(text, opened[-1])} is never closed: a ']' is missing")
        pos = bracket.start()
        depth = len(counts)  # lists open before this bracket; a "[" opens a list at this depth

        if text[pos] == "[":
            if depth == MAX_NESTING:
                raise InputError(
                    f"the lists are nested more than {MAX_NESTING} deep at {location(text, pos)}; "
                    f"the limit is {MAX_NESTING} (and a tensor may have at most {MAX_DIMS} dims)"
                )
            if previous:  # not the outermost list: the new list is an entry of the open one
                if previous == "[":
                    # The first entry of its parent: only whitespace may come before it.
                    if not SPACE_RE.fullmatch(text, gap_start, pos):
                        _refuse_gap_before_list(text, gap_start, pos, counts)
                else:
                    # A later entry: a comma must separate it from the list before.
                    if not _COMMA_RE.fullmatch(text, gap_start, pos):
                        _refuse_gap_between_lists(text, gap_start, pos, counts, expected="','")
                if leaf_depth is not None and depth > leaf_depth:
                    # e.g. [[1, 2], [[3, 4]]]: a list where [0][0] has a number.
                    where = _path([c - 1 for c in counts[:-1]] + [counts[-1]])
                    raise InputError(
                        f"at {where}: a list where a number was expected (as at {_path([0] * depth)}), "
                        f"at {location(text, pos)}"
                    )
                if dims[depth] is not None:
                    # The fast path: a run of well-formed lists of the known shape.
                    list_shape = tuple(dims[depth : leaf_depth + 1])  # the shape of each sibling
                    run = _sibling_run_re(list_shape).match(text, pos)
                    if run:
                        # Each list of this shape holds the same number of '[': count them.
                        n_lists = text.count("[", pos, run.end()) // _brackets_in(list_shape)
                        counts[-1] += n_lists
                        n_values += n_lists * math.prod(list_shape)
                        _check_n_values(n_values)
                        previous, gap_start = "]", run.end()
                        continue
                counts[-1] += 1
            counts.append(0)
            opened.append(pos)

        else:  # "]" closes the list at depth d = depth - 1
            d = depth - 1
            if previous == "[":
                # An innermost list: the gap is its numbers.
                n = _count_row(text, gap_start, pos)
                if leaf_depth is None:
                    leaf_depth = d
                    if n == 0:
                        where = _path(c - 1 for c in counts[:d])
                        which = f"the list at {where}" if where else "the outermost list"
                        raise InputError(f"the tensor is empty: {which} has no values")
                    if d + 1 > MAX_DIMS:
                        raise InputError(f"the tensor has {d + 1} dims; the limit is {MAX_DIMS}")
                elif d < leaf_depth:
                    # e.g. [[[1]], [2]]: numbers where [0] has lists.
                    raise InputError(
                        f"at {_path(c - 1 for c in counts[:d])}: numbers where lists were expected "
                        f"(as at {_path([0] * d)}), at {location(text, pos)}"
                    )
                counts[-1] = n
                n_values += n
                _check_n_values(n_values)
            else:
                # A list of lists: at most a trailing comma after its last entry.
                if not _OPTIONAL_COMMA_RE.fullmatch(text, gap_start, pos):
                    _refuse_gap_between_lists(text, gap_start, pos, counts, expected="',' or ']'")

            # Its size must match the first list at the same depth.
            n = counts.pop()
            opened.pop()
            if dims[d] is None:
                dims[d] = n
            elif n != dims[d]:
                raise InputError(_ragged_message(d, leaf_depth, counts, n, dims[d], text, pos))
            if not counts:  # the outermost list closed: done
                end = bracket.end()
                shape = tuple(dims[: leaf_depth + 1])
                # Everything in text[start:end] has been checked: it holds only numbers,
                # brackets, commas and whitespace. With brackets and commas turned into
                # spaces, a split on whitespace gives the numbers in order.
                words = text[start:end].translate(_BRACKETS_AND_COMMAS_TO_SPACES).split()
                values = list(map(float, words))
                assert len(values) == math.prod(shape), "the checks above guarantee this"
                return values, shape, end

        previous = text[pos]
        gap_start = bracket.end()


def _check_n_values(n_values: int) -> None:
    """Refuse a paste once it has more numbers than MAX_ELEMENTS."""
    if n_values > MAX_ELEMENTS:
        raise InputError(
            f"the pasted tensor has more than {MAX_ELEMENTS:,} elements; the limit is {MAX_ELEMENTS:,}"
        )


def _count_row(text: str, start: int, end: int) -> int:
    """Check the numbers of an innermost list, text[start:end], and return how many there are."""
    prefix_end = _ROW_PREFIX_RE.match(text, start, end).end()
    if not _ROW_REST_RE.fullmatch(text, prefix_end, end):
        raise _row_error(text, prefix_end, end)
    n_commas = text.count(",", start, end)
    if prefix_end == end:
        # Only "number," items (a trailing comma, as in [1, 2,]), or nothing at all.
        return n_commas
    return n_commas + 1  # and one last number without a comma


def _list_of_re(item: str, n: int) -> str:
    """The regex text for a list of exactly n items: [item, item, ..., item], trailing comma allowed.

    Each item is followed by a comma or, for the last one, by the closing ']' (a lookahead),
    so the item pattern is written once, not twice. Each item with its comma is an atomic
    group where the Python has them (see _ATOMIC): once matched it is never re-tried.
    """
    return rf"\[\s*{_ATOMIC}{item}\s*(?:,\s*|(?=\]))){{{n}}}\]"


@functools.lru_cache(maxsize=64)
def _sibling_run_re(shape: tuple) -> re.Pattern:
    """A regex for one or more comma-separated lists, each of exactly this shape."""
    one = _NUM
    for n in reversed(shape):  # from the innermost dim outwards
        one = _list_of_re(one, n)
    # Nothing follows the repetition, so when the next list does not match, the run simply
    # ends before it: once the first list has matched, the match succeeds.
    return re.compile(rf"{one}(?:\s*,\s*{one})*{_POSSESSIVE}")


def _brackets_in(shape: tuple) -> int:
    """How many '[' one list of this shape holds: 1 for a row, 1 + n * (that of a child) above."""
    count = 1
    for n in reversed(shape[:-1]):
        count = 1 + n * count
    return count


def _row_error(text: str, pos: int, end: int) -> InputError:
    """The error for a row of numbers that goes wrong at pos, after its good "number," items.

    What is there is either not a number, or a number followed by something that is neither
    ',' nor the end of the list.
    """
    number = NUMBER_RE.match(text, pos, end)
    if number:
        pos = SPACE_RE.match(text, number.end(), end).end()
        return unexpected(text, pos, expected="',' or ']'")
    return unexpected(text, pos, expected="a number")


def _refuse_gap_before_list(text: str, start: int, end: int, counts: list) -> None:
    """Raise for the text before a list that should be the first entry of its parent."""
    prefix_end = _ROW_PREFIX_RE.match(text, start, end).end()
    if prefix_end == end:
        # Numbers, each followed by a comma, then a list: e.g. [1, [2, 3]].
        index = text.count(",", start, end)  # how many numbers come before the list
        where = _path([c - 1 for c in counts[:-1]] + [index])
        raise InputError(
            f"at {where}: a list where a number was expected, at {location(text, end)}; "
            "a list must hold only numbers or only lists"
        )
    raise _row_error(text, prefix_end, end)


def _refuse_gap_between_lists(text: str, start: int, end: int, counts: list, expected: str) -> None:
    """Raise for the text after a list, in a list whose entries are lists."""
    pos = _OPTIONAL_COMMA_RE.match(text, start, end).end()
    if NUMBER_RE.match(text, pos, end):
        # A number where a list was expected: e.g. [[1], 2]. Its index is the number of
        # entries (lists) before it.
        where = _path([c - 1 for c in counts[:-1]] + [counts[-1]])
        raise InputError(
            f"at {where}: a number where a list was expected, at {location(text, pos)}; "
            "a list must hold only numbers or only lists"
        )
    raise unexpected(text, pos, expected=expected)


def _ragged_message(d, leaf_depth, counts, n, expected, text, pos) -> str:
    """The message for a list at depth d with n entries instead of `expected`.

    counts are the entry counts of its parents, so its index path is [c - 1 for c in counts].
    """
    at = location(text, pos)
    if d == 1 and leaf_depth == 1:
        # A matrix: speak of rows, counted from 1 as people count them.
        row = counts[0]  # the parent's count includes this row
        return f"row {row} has {_count(n, 'value')}, row 1 has {expected} (row {row} ends at {at})"
    word = "value" if d == leaf_depth else "list"
    where = _path(c - 1 for c in counts)
    return f"at {where}: {_count(n, word)}, expected {expected} as at {_path([0] * d)} (ends at {at})"
