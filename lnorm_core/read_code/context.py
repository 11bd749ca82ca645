"""What one evaluation of a snippet carries: the input, the pools, the notes, the budgets.

Unreadable (limits.py) is raised for what the reader does not read; CodeError for what the person's own run would
raise there (torch's, numpy's or Python's words), so the reading can say the code fails, and on which line.
"""

from dataclasses import dataclass, field

import numpy as np

from ..diagnosis import index_label
from .limits import MAX_LOOP_ITERATIONS, MAX_STEPS, MAX_WORK, Unreadable
from .pools import Pools


class CodeError(Exception):
    """The person's own run raises here: the line, the exception's type and its message as torch, numpy or
    Python words it."""

    def __init__(self, line, kind, message, mistake=None):
        super().__init__(f"{kind}: {message}")
        self.line = line
        self.kind = kind
        self.message = message
        self.mistake = mistake  # (name, line) where a known mistake makes the run fail (a forgotten keepdim)


@dataclass
class Binding:
    """A literal of the snippet read as part of the input: a typed-in row that equals x[index]."""

    line: int
    name: str
    index: tuple  # a leading index into x
    label: str  # 'x[0, 1, :]'
    key: tuple = ()  # (line, column) of the literal in the code


@dataclass
class Context:
    """One evaluation: the input x (float64) and what was read about it.

    x: the input; input_dtype: the dtype of the person's tensor; input_name: the snippet's name for it.
    pools: the reductions (pools.Pools). notes: line -> what was read there, in order. prints: the values printed.
    bindings: literals read as parts of x. layers: the torch layers the code builds, (line, NormSpec).
    """

    x: np.ndarray = None
    seen: np.ndarray = None
    input_dtype: str = "float64"
    input_name: str = ""
    input_line: int = 0
    input_made: str = ""  # how the snippet made its input: "randn", "literal", "" (given)
    seed: int = None  # torch.manual_seed's
    generator: object = None  # the torch.Generator the snippet's draws come from, seeded with `seed`
    pools: Pools = None
    notes: dict = field(default_factory=dict)
    note_keys: dict = field(default_factory=dict)
    prints: list = field(default_factory=list)
    bindings: list = field(default_factory=list)
    layers: list = field(default_factory=list)
    steps: int = 0
    iterations: int = 0
    work: int = 0
    depth: int = 0
    given: np.ndarray = None  # the x the caller gave, to match typed-in rows against
    override: np.ndarray = None  # output(x): the x that takes the place of the input the snippet makes itself
    forced: dict = None  # output(x): (line, column) of a literal -> the index of x it stands for ("input": all of x)

    def made(self, data, line):
        """The data of an input the snippet makes itself (a draw, a literal), or the override in its place."""
        if self.override is None:
            return np.asarray(data, dtype=np.float64)
        if tuple(self.override.shape) != tuple(np.shape(data)):
            from ..errors import InputError
            raise InputError(f"the code makes its input of shape {tuple(np.shape(data))} on line {line}; x has shape "
                             f"{tuple(self.override.shape)}")
        return np.asarray(self.override, dtype=np.float64)

    def set_input(self, x, dtype, name, line, made):
        """The snippet's input: x (float64), its dtype in the person's run, its name and line."""
        self.x = np.asarray(x, dtype=np.float64)
        self.seen = self.x  # x as the code's arithmetic sees it: a typed-in row has its own digits
        self.input_dtype, self.input_name, self.input_line, self.input_made = dtype, name, line, made
        self.pools = Pools(self.x.shape)

    def step(self, line):
        """One more node evaluated (MAX_STEPS)."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Unreadable(line, f"more than {MAX_STEPS:,} steps to read (MAX_STEPS)")

    def iterate(self, line):
        """One more loop iteration (MAX_LOOP_ITERATIONS)."""
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise Unreadable(line, f"more than {MAX_LOOP_ITERATIONS:,} loop iterations (MAX_LOOP_ITERATIONS)")

    def spend(self, elements, line):
        """Elements about to be computed (MAX_WORK), checked before they are."""
        self.work += int(elements)
        if self.work > MAX_WORK:
            raise Unreadable(line, f"more than {MAX_WORK:,} elements computed in all (MAX_WORK)")

    def note(self, line, text, key=None):
        """What was read on a line, once per key (a loop reads the same line again, on other rows)."""
        texts = self.notes.setdefault(int(line), [])
        keys = self.note_keys.setdefault(int(line), set())
        key = text if key is None else key
        if key not in keys and len(texts) < 6:
            keys.add(key)
            texts.append(text)

    def label(self, flat):
        """Elements of x (flat indices) as a person indexes them: 'x[0, 1, :]', 'x[0, :, :]', 'x[:, 2]'."""
        return index_label(np.asarray(flat), self.x.shape, self.input_name or "x")
