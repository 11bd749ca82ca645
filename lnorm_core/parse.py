"""Tensors and shapes from text a person pastes or types.

    parse_tensor(text)   -> float64 array from "[[1, 2], [3, 4]]" or a pasted torch/numpy print
    parse_shape(text)    -> a shape from "2, 3, 4", "(2, 3, 4)", "2x3x4", "torch.Size([2, 3, 4])"

Pasted text is never evaluated as code: parse_tensor reads the head and tail of a print
("tensor(", ", grad_fn=<...>)") here with regular expressions, and the nested lists between
them with lnorm_core.parse_lists (no eval, exec or ast.literal_eval, and no recursion). Every
limit of lnorm_core.errors is checked before anything of that size is built, and every refusal
is an InputError whose message says what is wrong and where.
"""

import re

import numpy as np

from .errors import MAX_DIMS, MAX_PASTE_CHARS, InputError, shown
from .parse_lists import NUMBER_RE, SPACE_RE, location, read_lists, unexpected
from .tensors import check_shape

# ---------------------------------------------------------------------------------------------
# The head and the tail of a print, as regular expressions
# ---------------------------------------------------------------------------------------------

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

_SUMMARY_MARKS = ("...", "\u2026")  # torch's and numpy's "...", and the one-character ellipsis


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

    The text is never evaluated as code. Refused with an InputError, each in time linear in the
    length of the text (bench/parse_speed.py prints it): text longer than MAX_PASTE_CHARS (before
    any parsing), a summarized print that contains ``...``, lists nested deeper than MAX_NESTING,
    more than MAX_DIMS dims or MAX_ELEMENTS elements, ragged lists (``row 2 has 3 values, row 1
    has 4``), empty tensors, bools, and anything else (``unexpected text 'import' at line 1,
    column 1``).
    """
    _check_text(text, "parse_tensor", "the pasted text", MAX_PASTE_CHARS)
    _refuse_summarized(text)

    pos = SPACE_RE.match(text).end()
    if pos == len(text):
        raise InputError("the pasted text is empty; paste a tensor such as [[1, 2], [3, 4]]")

    # The head: "Parameter containing:", then "tensor(" or "array(".
    match = _PARAMETER_RE.match(text, pos)
    if match:
        pos = match.end()
    wrapper = _WRAPPER_RE.match(text, pos)
    if wrapper:
        pos = SPACE_RE.match(text, wrapper.end()).end()

    # The values: nested lists, or one number.
    if text.startswith("[", pos):
        values, shape, pos = read_lists(text, pos)
    else:
        match = NUMBER_RE.match(text, pos)
        if not match:
            raise unexpected(text, pos, expected="a number or a list such as [1, 2]")
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
            pos = SPACE_RE.match(text, pos).end()
            raise unexpected(text, pos, expected="')' or ', key=value' such as dtype=torch.float64")
        pos = match.end()

    # Nothing may follow, except whitespace.
    pos = SPACE_RE.match(text, pos).end()
    if pos != len(text):
        hint = "the end of the text"
        if not shape and text.startswith(",", pos):
            hint += "; several numbers go inside a list, e.g. [1, 2, 3]"
        raise unexpected(text, pos, expected=hint)

    # The checks above guarantee len(values) == prod(shape), so this reshape cannot fail.
    return np.array(values, dtype=np.float64).reshape(shape)


def _check_text(text, caller: str, what: str, limit: int) -> None:
    """Refuse what is not a str, and text longer than limit, before anything else reads it."""
    if not isinstance(text, str):
        raise InputError(f"{caller} expects text (a str), got {type(text).__name__}")
    if len(text) > limit:
        raise InputError(f"{what} has {len(text):,} characters; the limit is {limit:,}")


def _refuse_summarized(text: str) -> None:
    """Refuse a print in which torch or numpy replaced values with '...'."""
    for mark in _SUMMARY_MARKS:
        pos = text.find(mark)
        if pos >= 0:
            raise InputError(
                f"the print was summarized: '...' at {location(text, pos)} stands for values that "
                'were left out. Print the full tensor with torch.set_printoptions(profile="full") '
                "(numpy: np.set_printoptions(threshold=sys.maxsize)) and paste it again"
            )


# ---------------------------------------------------------------------------------------------
# parse_shape
# ---------------------------------------------------------------------------------------------

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
    _check_text(text, "parse_shape", "the shape text", _MAX_SHAPE_CHARS)
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
            raise InputError(f"{shown(part)} is not a whole number")
        dims.append(int(part))  # at most _MAX_SHAPE_CHARS digits: well within int()'s limit
    return check_shape(tuple(dims))
