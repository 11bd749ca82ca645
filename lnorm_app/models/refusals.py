"""Where torch refuses the sidebar's layer on its input: torch's words, their meaning, and buttons' worth of fixes.

lnorm_core.refusal says what torch accepts instead, in torch.nn's parameter names; this model
turns each choice into the sidebar controls it sets (the keys the controls are bound to, so a
click changes the URL as typing would) and drops the choices no control can make (a new shape
for a pasted tensor). Pure and cached on the Config's small key; nothing here knows Streamlit.
"""

from dataclasses import dataclass

from lnorm_core import CLASS_NAMES, InputError, check_shape, refusal_help

from ..cache import BoundedCache


@dataclass(frozen=True)
class Choice:
    """A button: its label, the (control key, value) pairs it sets, and a sentence on what it does."""

    label: str
    controls: tuple
    why: str = ""

    @property
    def key(self):
        """The button's widget key, e.g. 'fix-ns=(2, 3)': stable, so a test can click it."""
        return "fix-" + "-".join(f"{k}={v}" for k, v in self.controls)


@dataclass(frozen=True)
class RefusalView:
    """torch_message: torch's words, verbatim. meaning: in plain words, for this shape. choices: Choice buttons.

    not_offered: fixes no control can make here (a new shape for a pasted tensor), in words.
    """

    torch_message: str
    meaning: str
    choices: tuple = ()
    not_offered: tuple = ()


def _text(shape):
    """A shape as the Shape box takes it: '2, 3'."""
    return ", ".join(str(d) for d in shape)


def _controls(fix, config):
    """The (control key, value) pairs a core Fix sets, in the form each widget holds; None if none can."""
    out = []
    if fix.shape is not None:
        if config.source != "random":
            return None  # a pasted tensor keeps its shape: the page says the reshape in words
        out.append(("shape", _text(fix.shape)))
    for name, value in fix.changes:
        if name == "kind":
            out.append(("kind", CLASS_NAMES[value]))
        elif name == "normalized_shape":
            out.append(("ns", str(tuple(value))))
        elif name == "num_groups":
            out.append(("groups", str(value)))
        elif name == "training":
            out.append(("mode", "train" if value else "eval"))
        elif name == "track_running_stats":
            out.append(("track", bool(value)))
        elif name == "eps":
            out.append(("eps", f"{value:g}"))  # as the eps box lists it: "1e-05"
        else:  # a parameter with no control of its own
            return None
    return tuple(out)


_cache = BoundedCache(max_entries=64, max_bytes=1 << 20)


def refusal_for(config):
    """The RefusalView of config, or None where torch accepts its layer on its input (or the input is bad).

    Bad input that is not torch's refusal (a ragged paste, an eps of "abc") is left to the page's
    usual message: this only explains what torch itself refuses.
    """
    return _cache.get_or_compute(("refusal",) + config.key(), lambda: _refusal_for(config), config.elements())


def _refusal_for(config):
    try:
        shape = check_shape(config.shape) if config.source == "random" else config.tensor().shape
        spec = config.spec()
    except InputError:
        return None
    r = refusal_help(spec, shape)
    if r is None:
        return None
    choices, not_offered = [], []
    for fix in r.fixes:
        controls = _controls(fix, config)
        if controls is None:
            not_offered.append(f"{fix.label}: {fix.why}")
        else:
            choices.append(Choice(fix.label, controls, fix.why))
    return RefusalView(r.torch_message, r.meaning, tuple(choices), tuple(not_offered))
