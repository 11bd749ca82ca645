"""The Practice page's model: the exercise a link names, its question in words, an answer checked with its
explanation (the pictures' data and links into the other pages), and sets of exercises.

Pure functions of small keys: an exercise's code, the answer (a tuple, or typed text by its digest). The
keys come from torch.nn (lnorm_core.practice); nothing is computed before an answer is checked but the
question. Nothing is kept of a person's answers here: the page keeps them in its session.
"""

import hashlib
from dataclasses import dataclass

import numpy as np

from lnorm_core import CLASS_NAMES, InputError, group_ids
from lnorm_core import practice as P

from ..cache import CACHE_MIB, BoundedCache
from ..config import Config
from ..reproduce import module_code
from .finder import group_slice
from .finder import table as step_rows
from .pooling import two_poolings

KIND_TITLES = {"share": "Which elements share a mean?", "row": "What does this row print?",
               "accept": "Which does torch accept?", "same": "Same or different?", "buffers": "BatchNorm's buffers"}
DEFAULT = "g_L1_2x3x4_0_0-1-2"  # the page opens on LayerNorm((4,)) over (2, 3, 4): which elements share x[0, 1, 2]'s
MAX_ANSWER_CHARS = 2000  # typed text longer than this is refused before it is read

_cache = BoundedCache(max_entries=256, max_bytes=CACHE_MIB["practice"] << 20)


def _cached(key, compute):
    return _cache.get_or_compute(key, compute)


def exercise(code):
    """The Exercise a code names (cached); InputError saying what is wrong for a crafted or broken one."""
    return _cached(("exercise", str(code)[:200]), lambda: P.parse_exercise(code))


def exercise_set(text):
    """The exercises of a set's code (cached); InputError naming the one that cannot be read."""
    return _cached(("set", _digest(text)), lambda: P.parse_set(text))


def new_code(kind, seed):
    """The code of a new exercise of kind, drawn from seed."""
    return P.draw(kind, seed).code


def _digest(text):
    return hashlib.sha256(str(text).encode("utf-8", "replace")).hexdigest()


def tensor_text(x, decimals):
    """x as nested lists with a fixed number of decimals: what parse_tensor reads back exactly."""
    if np.ndim(x) == 0:
        return f"{float(x):.{decimals}f}"
    inner = ", ".join(tensor_text(v, decimals) for v in x)
    return f"[{inner}]"


def _shape(shape):
    return str(tuple(int(d) for d in shape))


def _nn(spec, shape):
    """The layer as torch code, e.g. "nn.LayerNorm((4,))", "nn.BatchNorm1d(3, momentum=0.2)"."""
    text = module_code(spec, shape, short=True)
    if spec.kind == "instance" and spec.track_running_stats:
        text = text[:-1] + ", track_running_stats=True)"
    if spec.kind == "batch" and spec.momentum != 0.1:
        text = text[:-1] + f", momentum={spec.momentum:g})"
    return f"`{text}`"


@dataclass(frozen=True)
class Question:
    """An exercise in words: heading, prompt (Markdown), the input as code where it is computed by hand (else ""),
    options (accept: the choices; same: the questions), cells (share: every cell's label, in flat order)."""

    heading: str
    prompt: str
    code: str = ""
    options: tuple = ()
    cells: tuple = ()


def question(code):
    """The Question of an exercise (cached)."""
    return _cached(("question", code), lambda: _question(exercise(code)))


def _cell(index):
    return "x[" + ", ".join(str(int(i)) for i in index) + "]"


def _question(ex):
    shape, spec = ex.shape, ex.spec
    on = f"on an input `x` of shape {_shape(shape)}"
    if ex.kind == "share":
        cells = tuple(_cell(np.unravel_index(i, shape)) for i in range(int(np.prod(shape))))
        return Question(f"Which elements share a mean with {_cell(ex.where)}?",
                        f"{_nn(spec, shape)} {on} (in training mode): which elements share one mean and one variance "
                        f"with the marked element **{_cell(ex.where)}**? Click them on the picture, or choose them "
                        "in the list under it.", cells=cells)
    if ex.kind == "row":
        row = "y[" + ", ".join([str(i) for i in ex.where] + [":"]) + "]"
        return Question(f"What does {row} print?",
                        f"`y = {_nn(spec, shape)[1:-1]}(x)` in training mode, with its initial weight and bias, {on}. "
                        f"What does **{row}** print? Type its {shape[-1]} numbers to 4 decimals, e.g. `[0.1234, ...]` "
                        "(computed by hand, or in your notebook: the numbers are checked, and a usual mistake named).",
                        code=f"x = torch.tensor({tensor_text(ex.x(), P.DECIMALS['row'])}, dtype=torch.float64)")
    if ex.kind == "accept":
        if ex.layer == "G":
            what = f"`num_groups` does `nn.GroupNorm(num_groups, {shape[1]})` accept"
        else:
            what = f"`normalized_shape` does `nn.{CLASS_NAMES['layer' if ex.layer == 'L' else 'rms']}(normalized_shape)` " \
                   "accept"
        options = tuple(str(c) for c in ex.choices)
        return Question(f"Which {'num_groups' if ex.layer == 'G' else 'normalized_shape'} does torch accept?",
                        f"Which {what} {on}? Choose all that apply.", options=options)
    if ex.kind == "same":
        view, other = ex.view_of_x, ex.other_spec
        where = "`x`" if view.code == "x" else f"`{view.code}` (shape {_shape(view.shape)})"
        return Question(f"{_nn(spec, shape)[1:-1]} and {_nn(other, view.shape)[1:-1]}: same or different?",
                        f"Layer A is {_nn(spec, shape)} {on}; layer B is {_nn(other, view.shape)} on {where}. For "
                        "each question, are the two the same?", options=tuple(P.QUESTION_TEXT[q] for q in P.QUESTIONS))
    c = ex.where[0]
    return Question(f"running_var[{c}] after one step?",
                    f"A fresh {_nn(spec, shape)} (running_mean 0, running_var 1) does one forward in training mode "
                    f"{on}. What is **running_var[{c}]** after it? Type it to 4 decimals.",
                    code=f"x = torch.tensor({tensor_text(ex.x(), P.DECIMALS['buffers'])}, dtype=torch.float64)")


# ---- an answer checked ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """An answer checked, with what explains it.

    verdict: lnorm_core.practice's Verdict (right, headline, lines). links: (label, page, query params)
    into the other pages. group: share, the marked element's group as a person indexes it. The pictures' data, where the kind has them: cells (share: the grid's
    right, missed and extra cells), config (a Config whose Explorer group map shows the layer),
    steps (row: the step-by-step table's rows and the mistake's name), pooling (same: the two
    layers' groups, a models.pitfalls.Pooling), buffers (the running statistics before and after, (2, C)).
    steps is (rows, the mistakes they are shown beside).
    """

    verdict: object
    links: tuple = ()
    group: str = ""
    cells: tuple = None
    config: object = None
    steps: tuple = None
    pooling: object = None
    buffers: tuple = None


def checked(code, answer):
    """The answer to an exercise checked against torch's key (cached on the code and the answer).

    answer: share, the picked flat indices; row and buffers, the typed text; accept, the chosen
    choices' indices; same, a True/False/None per question. InputError for an answer that cannot be read.
    """
    if isinstance(answer, str) and len(answer) > MAX_ANSWER_CHARS:
        raise InputError(f"an answer has at most {MAX_ANSWER_CHARS:,} characters")
    small = answer if not isinstance(answer, str) else _digest(answer)
    return _cached(("checked", code, small), lambda: _checked(exercise(code), answer))


def _explorer_config(spec, shape, seed):
    """The Config whose Explorer view shows spec on the seeded input of shape."""
    values = dict(shape=tuple(shape), seed=int(seed), kind=spec.kind, affine=spec.has_weight)
    if spec.info.trailing:
        values["normalized_shape"] = spec.normalized_shape
    if spec.kind == "group":
        values["num_groups"] = spec.num_groups
    if spec.info.running_stats:
        values.update(track_running_stats=spec.track_running_stats, momentum=spec.momentum)
    return Config(**values)


def link_params(config, **page):
    """A Config as the query parameters its view's link carries (README "Links"), plus the page's own."""
    params = {"kind": CLASS_NAMES[config.kind]}
    if config.source == "paste":
        params.update(source="paste", paste=config.paste)
    else:
        params.update(shape=", ".join(map(str, config.shape)), seed=str(config.seed))
    if config.kind in ("layer", "rms"):
        params["ns"] = str(tuple(config.normalized_shape))
    if config.kind == "group":
        params["groups"] = str(config.num_groups)
    if config.kind in ("batch", "instance"):
        params.update(track=str(config.track_running_stats).lower(), momentum=repr(config.momentum))
    params["affine"] = str(config.affine).lower()
    return {**params, **page}


def key(code):
    """torch's key of an exercise (cached: each answer to it is checked against the same one)."""
    return _cached(("key", code), lambda: P.key(exercise(code)))


def _checked(ex, answer):
    verdict = P.check(ex, answer, key(ex.code))
    spec, shape = ex.spec, ex.shape
    config = _explorer_config(spec, shape, ex.seed) if ex.kind != "accept" else None
    if ex.kind == "share":
        d = verdict.detail
        members = np.argwhere(np.isin(np.arange(int(np.prod(shape))).reshape(shape), d.cells))
        return Checked(verdict, (("The groups in the Explorer", "views/explorer.py", link_params(config, view="Groups")),),
                       group_slice(members, shape), (d.right, d.missed, d.extra), config)
    if ex.kind == "row":
        d = verdict.detail
        paste = Config(source="paste", paste=tensor_text(ex.x(), P.DECIMALS["row"]), kind=spec.kind,
                       normalized_shape=spec.normalized_shape or (4,), num_groups=spec.num_groups or 1,
                       track_running_stats=spec.track_running_stats, affine=spec.has_weight)
        wrong = "[" + ", ".join(f"{v:.4f}" for v in np.ravel(d.typed)) + "]"
        return Checked(verdict, (("Your row in Pitfalls' finder", "views/pitfalls.py",
                                  link_params(paste, wrong=wrong)),), config=paste,  # the exercise's own numbers
                       steps=(step_rows(d.steps), d.mistakes))
    if ex.kind == "accept":
        accepted = [c for c, choice in zip(ex.choices, verdict.detail) if choice.accepted]
        refused = [c for c, choice in zip(ex.choices, verdict.detail) if not choice.accepted]
        shown = None
        if accepted:
            shown = _explorer_config(P.choice_spec(ex.layer, accepted[-1]), shape, ex.seed)
        links = []
        if refused:  # the Explorer explains torch's refusal and offers what it accepts, as buttons
            refusal = _explorer_config(P.choice_spec(ex.layer, refused[0]), shape, ex.seed)
            links.append((f"{refused[0]} in the Explorer: torch's refusal explained", "views/explorer.py",
                          link_params(refusal)))
        if shown is not None:
            links.append((f"{accepted[-1]} in the Explorer", "views/explorer.py", link_params(shown, view="Groups")))
        return Checked(verdict, tuple(links), config=shown)
    if ex.kind == "same":
        view, other = ex.view_of_x, ex.other_spec
        ids_b = np.asarray(view.undo(group_ids(other, view.shape), shape))
        focus = tuple(0 for _ in shape)
        pooling = two_poolings(group_ids(spec, shape), ids_b, focus, "A: " + spec.torch_name(shape, short=True),
                               f"B: {other.torch_name(view.shape, short=True)}" + ("" if view.code == "x" else f" on {view.code}"),
                               verdict.detail[0].key)  # the first question: do they pool alike
        return Checked(verdict, (("Layer A's equivalents in the Explorer", "views/explorer.py",
                                  link_params(config, view="Same pooling")),), pooling=pooling)
    buffers = verdict.detail[1]
    steps = Config(shape=tuple(shape), seed=ex.seed, kind="batch", momentum=ex.momentum)
    return Checked(verdict, (("BatchNorm's buffers over many steps, in Pitfalls", "views/pitfalls.py",
                              link_params(steps, part="BatchNorm: train vs eval", steps="5")),),
                   buffers=(np.stack([buffers.before[0], buffers.after[0]]),
                            np.stack([buffers.before[1], buffers.after[1]])))


# ---- sets ------------------------------------------------------------------------------------------


def set_params(codes):
    """The query parameters of a set's link: {"set": the codes joined by '~'} (checked)."""
    return {"set": P.set_code(exercise(c) for c in codes)}


def title(code):
    """An exercise in a few words, for a set's list: 'Which elements share a mean? nn.LayerNorm((4,)) on (2, 3, 4)'."""
    ex = exercise(code)
    layer = {"L": "`nn.LayerNorm`", "R": "`nn.RMSNorm`", "G": "`nn.GroupNorm`"}.get(ex.layer) or _nn(ex.spec, ex.shape)
    if ex.kind == "same":
        layer += f" and {_nn(ex.other_spec, ex.view_of_x.shape)}"
    return f"{KIND_TITLES[ex.kind]} {layer} on {_shape(ex.shape)}"
