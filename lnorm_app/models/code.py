"""The Pitfalls page's "Your code" model: a pasted snippet read by lc.read_code (never run) against the sidebar's
tensor and layer, laid out for the page: each line with what lnorm read there and the mistakes it makes, what the
code computes beside torch's answer, and one group's arithmetic as the code takes it.

Cached on the code's digest and Config.key().
"""

from dataclasses import dataclass

import numpy as np

from lnorm_core import InputError, group_steps, read_code
from lnorm_core.read_code import ALL_MISTAKES, MAX_CODE_CHARS, layer_name, vocabulary

from ..cache import CACHE_ENTRIES, CACHE_MIB, BoundedCache
from .explorer import explore
from .finder import digest, table as step_rows

# the forum question as code: one row of torch.manual_seed(0); torch.randn(2, 3, 4) typed in, and normalized with
# statistics.stdev under math.sqrt (the sidebar's default tensor holds that row at x[0, 1, :])
EXAMPLE_CODE = """import math
import statistics

row = [0.8487, 0.6920, -0.3160, -2.1152]
mean = statistics.mean(row)
std = statistics.stdev(row)
eps = 1e-5
out = [(v - mean) / math.sqrt(std + eps) for v in row]
print(out)
"""


@dataclass(frozen=True)
class CodeLine:
    """One line of the code: its number, its text, what lnorm read there, and the mistakes it makes
    ((name, title, fix) each)."""

    number: int
    text: str
    notes: tuple
    mistakes: tuple


@dataclass(frozen=True)
class CodeView:
    """A snippet as the page shows it.

    reading: the lc.Reading. lines: a CodeLine each. layer_note: where the code builds another layer than the
    sidebar's, which one lnorm compares against (else ""). value, right: what the code computes and torch's output
    at the same elements (None where unreadable). table, table_title, wrong_label: one group's arithmetic, the
    layer's beside the code's (step rows of the finder's table; () where the code has no recipe to walk).
    vocabulary: what lnorm reads, by family, for an unreadable snippet.
    """

    reading: object
    lines: tuple
    layer_note: str = ""
    value: np.ndarray = None
    right: np.ndarray = None
    table: tuple = ()
    table_title: str = ""
    wrong_label: str = ""
    vocabulary: tuple = ()


# a reading keeps its input and outputs: small ones fit, a large tensor's is read again on each rerun (the budget
# of every cache together is held by tests/app/test_hosting.py)
_code_cache = BoundedCache(max_entries=CACHE_ENTRIES, max_bytes=CACHE_MIB["code"] << 20)


def read(config, code):
    """The reading of `code` against the config's tensor and layer (cached); None when no code is pasted."""
    if not code or not code.strip():
        return None
    if len(code) > MAX_CODE_CHARS:
        raise InputError(f"the code has {len(code):,} characters; lnorm reads at most {MAX_CODE_CHARS:,}")
    return _code_cache.get_or_compute(("code", digest(code)) + config.key(), lambda: _read(config, code),
                                      config.elements())


def _read(config, code):
    e = explore(config)
    r = read_code(code, e.spec, x=e.x)
    note = ""
    if r.code_spec is not None and r.code_spec != e.spec:
        code_layer, sidebar_layer = layer_name(r.code_spec, e.x.shape), layer_name(e.spec, e.x.shape)
        note = (f"The code builds {code_layer}; the sidebar says {sidebar_layer}. lnorm compares the code "
                f"with the layer it builds, {code_layer}.")
        r = read_code(code, x=e.x)
    lines = tuple(CodeLine(n, text, r.notes_at(n), tuple(
        (m, ALL_MISTAKES[m].title, ALL_MISTAKES[m].fix) for m in r.mistakes if r.lines[m] == n))
        for n, text in enumerate(code.replace("\r\n", "\n").split("\n"), 1))
    while lines and not lines[-1].text.strip() and not lines[-1].notes:
        lines = lines[:-1]
    table, title = (), ""
    label = " + ".join(ALL_MISTAKES[m].title.split(" (")[0] for m in r.mistakes) or "your code"
    if r.recipe is not None and r.elements is not None and r.elements.size:
        element = tuple(int(i) for i in np.unravel_index(int(r.elements[0]), r.x.shape))
        steps = group_steps(r.spec, r.x, element, r.weight, r.bias, recipe=r.recipe)
        table = step_rows(steps)
        title = (f"the layer's group of {r.input_name or 'x'}[{', '.join(map(str, element))}], the first element "
                 "the code computes")
    words = tuple((family, ", ".join(names)) for family, names in vocabulary().items())
    return CodeView(r, lines, note, r.value if r.right is not None else None, r.right, table, title, label, words)
