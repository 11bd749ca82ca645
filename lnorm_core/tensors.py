"""Tensors from a person: pasted text, a seed, or a typed shape.

    parse_tensor(text)            -> float64 array from "[[1, 2], [3, 4]]" or a pasted torch/numpy print
    seeded_tensor(shape, seed)    -> float64 array equal to torch.manual_seed(seed); torch.randn(*shape)
    check_shape(shape)            -> the shape as a tuple of ints, within the limits
    parse_shape(text)             -> a shape from "2, 3, 4", "(2, 3, 4)", "2x3x4", "torch.Size([2, 3, 4])"

Pasted text is never evaluated as code: parse_tensor reads it with regular
expressions and a loop over its brackets (no eval, exec or ast.literal_eval,
and no recursion, so deep nesting cannot exhaust the stack). Every limit of
lnorm_core.errors is checked before anything of that size is built, and every
refusal is an InputError whose message says what is wrong and where.
"""

import functools
import math
import re
import sys

import numpy as np
import torch

from .errors import MAX_DIMS, MAX_ELEMENTS, MAX_NESTING, MAX_PASTE_CHARS, InputError

# ---------------------------------------------------------------------------------------------
# The pieces of a paste, as regular expressions
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
_NUMBER_RE = re.compile(_NUM)

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
_SPACE_RE = re.compile(r"\s*")
# What may stand between two bracket events of a list of lists:
_COMMA_RE = re.compile(r"\s*,\s*")  # between "]" and "[": the comma between two sibling lists
_OPTIONAL_COMMA_RE = re.compile(r"\s*,?\s*")  # between "]" and "]": a trailing comma, or none

# The head of a print: "Parameter containing:" (an nn.Parameter) and the wrapper "tensor(" of
# torch or "array(" of numpy.
_PARAMETER_RE = re.compile(r"Parameter containing:\s*")
_WRAPPER_RE = re.compile(r"(?:torch\.)?tensor\s*\(|(?:np\.|numpy\.)?array\s*\(")
# The tail of a print, after the values: ", key=value" entries such as grad_fn=<AddBackward0>,
# requires_grad=True, dtype=torch.float64, device='cuda:0', size=(0, 4), then ")".
# A value is an <...>, a quoted string, a flat (...) tuple, or a dotted name or number.
_SUFFIX_RE = re.compile(
    r"\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*"
    r"(?:<[^<>\n]*>|'[^'\n]*'|\"[^\"\n]*\"|\([^()]*\)|[A-Za-z0-9_.+\-]+)"
)
_CLOSE_RE = re.compile(r"\s*,?\s*\)")

# The word shown in "unexpected text '...'": a run of characters up to a delimiter.
_WORD_RE = re.compile(r"[^\s\[\](),=]+")
_MAX_SHOWN = 20  # characters of a bad word shown in a message

_SUMMARY_MARKS = ("...", "\u2026")  # torch's and numpy's "...", and the one-character ellipsis


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def _location(text: str, pos: int) -> str:
    """'line L, column C' of the character at index pos (both counted from 1)."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1  # rfind gives -1 on the first line
    return f"line {line}, column {column}"


def _shown(word: str) -> str:
    """A piece of the paste, quoted and cut short for a message."""
    if len(word) > _MAX_SHOWN:
        word = word[:_MAX_SHOWN] + "..."
    return repr(word)


def _unexpected(text: str, pos: int, expected: str = "") -> InputError:
    """The error for text at index pos that does not belong there."""
    if pos >= len(text):
        message = f"the text ends too early at {_location(text, pos)}"
    else:
        match = _WORD_RE.match(text, pos)
        word = match.group() if match else text[pos]
        message = f"unexpected text {_shown(word)} at {_location(text, pos)}"
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
# parse_tensor
# ---------------------------------------------------------------------------------------------


def parse_tensor(text: str) -> np.ndarray:
    """Read a pasted tensor into a float64 numpy array.

    Accepted, with any whitespace and line breaks:

    - nested Python lists: ``[[1, 2], [3, 4]]`` (a trailing comma is fine);
    - a single number: ``2.5`` gives a 0-d array (shape ``()``), as ``torch.tensor(2.5)`` does;
    - a torch print: ``tensor([[-1.5194, 0.8530], [1.0e+00, nan]], grad_fn=<...>)``, with any
      of the suffixes ``grad_fn=<...>``, ``requires_grad=True``, ``dtype=torch.float64``,
      ``device='cuda:0'``, ``size=(...)``, and an optional ``Parameter containing:`` line;
    - a numpy print: ``array([1., 2.])``, ``array([1, 2], dtype=float32)``.

    Numbers may be integers, decimals, scientific (``1e-05``, ``1.0e+00``, ``-3.2E4``), ``nan``,
    ``inf`` and ``-inf``. Each is read as Python's float() reads it: exactly the decimal the
    text shows (a torch print with 4 decimals gives the tensor rounded to 4 decimals), and a
    number beyond the float64 range (``1.8e+308``) as inf.

    The text is never evaluated as code. Refused with an InputError, each quickly whatever the
    size of the text: text longer than MAX_PASTE_CHARS (before any parsing), a summarized print
    that contains ``...``, lists nested deeper than MAX_NESTING, more than MAX_DIMS dims or
    MAX_ELEMENTS elements, ragged lists (``row 2 has 3 values, row 1 has 4``), empty tensors,
    bools, and anything else (``unexpected text 'import' at line 1, column 1``).
    """
    if not isinstance(text, str):
        raise InputError(f"parse_tensor expects text (a str), got {type(text).__name__}")
    # The length is checked before anything else reads the text.
    if len(text) > MAX_PASTE_CHARS:
        raise InputError(f"the pasted text has {len(text):,} characters; the limit is {MAX_PASTE_CHARS:,}")
    _refuse_summarized(text)

    pos = _SPACE_RE.match(text).end()
    if pos == len(text):
        raise InputError("the pasted text is empty; paste a tensor such as [[1, 2], [3, 4]]")

    # The head: "Parameter containing:", then "tensor(" or "array(".
    match = _PARAMETER_RE.match(text, pos)
    if match:
        pos = match.end()
    wrapper = _WRAPPER_RE.match(text, pos)
    if wrapper:
        pos = _SPACE_RE.match(text, wrapper.end()).end()

    # The values: nested lists, or one number.
    if text.startswith("[", pos):
        values, shape, pos = _parse_nested_lists(text, pos)
    else:
        match = _NUMBER_RE.match(text, pos)
        if not match:
            raise _unexpected(text, pos, expected="a number or a list such as [1, 2]")
        values, shape, pos = [float(match.group())], (), match.end()

    # The tail: ", key=value" entries and the ")" that closes "tensor(" or "array(".
    if wrapper:
        while True:
            match = _SUFFIX_RE.match(text, pos)
            if not match:
                break
            pos = match.end()
        match = _CLOSE_RE.match(text, pos)
        if not match:
            pos = _SPACE_RE.match(text, pos).end()
            raise _unexpected(text, pos, expected="')' or ', key=value' such as dtype=torch.float64")
        pos = match.end()

    # Nothing may follow, except whitespace.
    pos = _SPACE_RE.match(text, pos).end()
    if pos != len(text):
        hint = "the end of the text"
        if not shape and text.startswith(",", pos):
            hint += "; several numbers go inside a list, e.g. [1, 2, 3]"
        raise _unexpected(text, pos, expected=hint)

    # The checks above guarantee len(values) == prod(shape), so this reshape cannot fail.
    return np.array(values, dtype=np.float64).reshape(shape)


def _refuse_summarized(text: str) -> None:
    """Refuse a print in which torch or numpy replaced values with '...'."""
    for mark in _SUMMARY_MARKS:
        pos = text.find(mark)
        if pos >= 0:
            raise InputError(
                f"the print was summarized: '...' at {_location(text, pos)} stands for values that "
                'were left out. Print the full tensor with torch.set_printoptions(profile="full") '
                "(numpy: np.set_printoptions(threshold=sys.maxsize)) and paste it again"
            )


def _parse_nested_lists(text: str, start: int):
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
            raise InputError(f"the '[' at {_location(text, opened[-1])} is never closed: a ']' is missing")
        pos = bracket.start()
        depth = len(counts)  # lists open before this bracket; a "[" opens a list at this depth

        if text[pos] == "[":
            if depth == MAX_NESTING:
                raise InputError(
                    f"the lists are nested more than {MAX_NESTING} deep at {_location(text, pos)}; "
                    f"the limit is {MAX_NESTING} (and a tensor may have at most {MAX_DIMS} dims)"
                )
            if previous:  # not the outermost list: the new list is an entry of the open one
                if previous == "[":
                    # The first entry of its parent: only whitespace may come before it.
                    if not _SPACE_RE.fullmatch(text, gap_start, pos):
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
                        f"at {_location(text, pos)}"
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
                        f"(as at {_path([0] * d)}), at {_location(text, pos)}"
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
    number = _NUMBER_RE.match(text, pos, end)
    if number:
        pos = _SPACE_RE.match(text, number.end(), end).end()
        return _unexpected(text, pos, expected="',' or ']'")
    return _unexpected(text, pos, expected="a number")


def _refuse_gap_before_list(text: str, start: int, end: int, counts: list) -> None:
    """Raise for the text before a list that should be the first entry of its parent."""
    prefix_end = _ROW_PREFIX_RE.match(text, start, end).end()
    if prefix_end == end:
        # Numbers, each followed by a comma, then a list: e.g. [1, [2, 3]].
        index = text.count(",", start, end)  # how many numbers come before the list
        where = _path([c - 1 for c in counts[:-1]] + [index])
        raise InputError(
            f"at {where}: a list where a number was expected, at {_location(text, end)}; "
            "a list must hold only numbers or only lists"
        )
    raise _row_error(text, prefix_end, end)


def _refuse_gap_between_lists(text: str, start: int, end: int, counts: list, expected: str) -> None:
    """Raise for the text after a list, in a list whose entries are lists."""
    pos = _OPTIONAL_COMMA_RE.match(text, start, end).end()
    if _NUMBER_RE.match(text, pos, end):
        # A number where a list was expected: e.g. [[1], 2]. Its index is the number of
        # entries (lists) before it.
        where = _path([c - 1 for c in counts[:-1]] + [counts[-1]])
        raise InputError(
            f"at {where}: a number where a list was expected, at {_location(text, pos)}; "
            "a list must hold only numbers or only lists"
        )
    raise _unexpected(text, pos, expected=expected)


def _ragged_message(d, leaf_depth, counts, n, expected, text, pos) -> str:
    """The message for a list at depth d with n entries instead of `expected`.

    counts are the entry counts of its parents, so its index path is [c - 1 for c in counts].
    """
    at = _location(text, pos)
    if d == 1 and leaf_depth == 1:
        # A matrix: speak of rows, counted from 1 as people count them.
        row = counts[0]  # the parent's count includes this row
        return f"row {row} has {_count(n, 'value')}, row 1 has {expected} (row {row} ends at {at})"
    word = "value" if d == leaf_depth else "list"
    where = _path(c - 1 for c in counts)
    return f"at {where}: {_count(n, word)}, expected {expected} as at {_path([0] * d)} (ends at {at})"


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------


def _format_int(n: int) -> str:
    """An int with thousands separators, or a short note if it is too long to show."""
    return f"{n:,}" if n.bit_length() <= 128 else f"a number with about {int(n.bit_length() * 0.30103)} digits"


def check_shape(shape) -> tuple[int, ...]:
    """Validate a tensor shape and return it as a tuple of Python ints.

    A shape is a tuple or list (a torch.Size is a tuple) of 1 to MAX_DIMS ints, each at least
    1, whose product is at most MAX_ELEMENTS. The product is checked before anything is
    allocated. Raises InputError, e.g.
    "shape (2000, 2000) has 4,000,000 elements; the limit is 1,048,576".
    """
    if not isinstance(shape, (tuple, list)):
        raise InputError(f"a shape is a tuple of dims such as (2, 3), got {type(shape).__name__}")
    if len(shape) == 0:
        raise InputError("an empty shape: give at least one dim, e.g. (2, 3)")
    if len(shape) > MAX_DIMS:
        raise InputError(f"the shape has {len(shape)} dims; the limit is {MAX_DIMS}")
    dims = []
    for dim in shape:
        # bool is a subclass of int, but True is not a size.
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise InputError(f"dims must be whole numbers, got {_shown(str(dim))} ({type(dim).__name__})")
        dims.append(int(dim))
    for dim in dims:
        if dim < 1:
            raise InputError(f"dims must be at least 1, got {_format_int(dim)}")
        if dim > MAX_ELEMENTS:
            # Checked dim by dim first so that the shape in the next message stays printable.
            raise InputError(
                f"a dim of {_format_int(dim)} is more than the limit of {MAX_ELEMENTS:,} elements"
            )
    # Python ints never overflow; with at most MAX_DIMS dims of at most MAX_ELEMENTS each,
    # the product is small enough to print.
    size = math.prod(dims)
    if size > MAX_ELEMENTS:
        raise InputError(f"shape {tuple(dims)} has {size:,} elements; the limit is {MAX_ELEMENTS:,}")
    return tuple(dims)


# A shape as people type it: a wrapper torch.Size(...), brackets, then separators.
_SIZE_WRAPPER_RE = re.compile(r"(?:torch\.)?Size\s*\((.*)\)", re.DOTALL)
_WHOLE_NUMBER_RE = re.compile(r"[+-]?[0-9]+")
_MAX_SHAPE_CHARS = 1000  # nobody types a longer shape; refused before any splitting


def parse_shape(text: str) -> tuple[int, ...]:
    """Read a shape as people type it and validate it with check_shape.

    "2, 3, 4", "(2, 3, 4)", "[2,3,4]", "2x3x4", "2 3 4" and "torch.Size([2, 3, 4])" all give
    (2, 3, 4); "(5,)" and "5" give (5,). Raises InputError saying which part is wrong:
    "'a' is not a whole number", "dims must be at least 1, got -2", "an empty shape".
    """
    if not isinstance(text, str):
        raise InputError(f"parse_shape expects text (a str), got {type(text).__name__}")
    if len(text) > _MAX_SHAPE_CHARS:
        raise InputError(f"the shape text has {len(text):,} characters; the limit is {_MAX_SHAPE_CHARS:,}")
    body = text.strip()
    match = _SIZE_WRAPPER_RE.fullmatch(body)
    if match:  # torch.Size([2, 3, 4])
        body = match.group(1).strip()
    # One pair of outer brackets: (2, 3, 4) or [2, 3, 4].
    if body[:1] + body[-1:] in ("()", "[]"):
        body = body[1:-1].strip()
    if not body:
        raise InputError("an empty shape: give at least one dim, e.g. 2, 3")

    # Separators: commas, else x or the multiplication sign (2x3x4), else whitespace.
    if "," in body:
        parts = body.split(",")
        if not parts[-1].strip():
            parts.pop()  # a trailing comma, as in (5,)
    elif re.search(r"[xX\u00d7]", body):
        parts = re.split(r"[xX\u00d7]", body)
    else:
        parts = body.split()
    if len(parts) > MAX_DIMS:
        raise InputError(f"the shape has {len(parts)} dims; the limit is {MAX_DIMS}")

    dims = []
    for i, part in enumerate(parts):
        part = part.strip()
        if not part:
            raise InputError(f"dim {i + 1} of the shape is missing (two separators in a row?)")
        if not _WHOLE_NUMBER_RE.fullmatch(part):
            raise InputError(f"{_shown(part)} is not a whole number")
        dims.append(int(part))  # at most _MAX_SHAPE_CHARS digits: well within int()'s limit
    return check_shape(tuple(dims))


# ---------------------------------------------------------------------------------------------
# seeded_tensor
# ---------------------------------------------------------------------------------------------

_MAX_SEED = 2**63 - 1
_DISTRIBUTIONS = ("normal", "uniform")


def _finite_number(value, name: str) -> float:
    """A real, finite number as a float, else InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite, got {value}")
    return value


def seeded_tensor(
    shape, seed: int, dist: str = "normal", offset: float = 0.0, scale: float = 1.0
) -> np.ndarray:
    """A reproducible random tensor, as a float64 numpy array.

    Element for element equal to what a person gets in their own notebook with

        torch.manual_seed(seed)
        x = torch.randn(*shape) * scale + offset     # dist="normal"
        x = torch.rand(*shape) * scale + offset      # dist="uniform", on [0, 1)

    on the CPU with torch's default dtype float32, with one difference in precision: the
    float32 draw is converted to float64 first, and `* scale + offset` is done in float64.
    (With scale=1 and offset=0 the values are exactly torch's float32 draw.)

    The draw uses its own torch.Generator seeded with `seed`, never torch's global generator,
    so it neither reads nor changes the random state of anyone else in the process.

    Raises InputError for a bad shape (see check_shape), a seed that is not an int in
    [0, 2**63 - 1], an unknown dist, or an offset or scale that is not a finite number.
    """
    shape = check_shape(shape)  # first, before anything is allocated
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"the seed must be a whole number, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed <= _MAX_SEED:
        raise InputError(f"the seed must be between 0 and {_MAX_SEED:,}, got {_format_int(seed)}")
    if dist not in _DISTRIBUTIONS:
        raise InputError(f"dist must be 'normal' or 'uniform', got {_shown(str(dist))}")
    offset = _finite_number(offset, "offset")
    scale = _finite_number(scale, "scale")

    # A fresh CPU generator gives the same stream as the global one after torch.manual_seed.
    generator = torch.Generator().manual_seed(seed)
    # dtype is given explicitly so that a changed default dtype (torch.set_default_dtype)
    # elsewhere in the process cannot change the draw.
    draw = torch.randn if dist == "normal" else torch.rand
    x = draw(shape, generator=generator, dtype=torch.float32)  # shape, float32
    out = x.numpy().astype(np.float64)  # float32 -> float64, exact
    return out * scale + offset  # float64
