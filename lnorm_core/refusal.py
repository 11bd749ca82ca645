"""Where torch refuses a layer on an input: its message, what it means for this shape, and what it accepts.

    help = refusal_help(spec, shape)     # None where torch accepts spec on shape
    help.torch_message                   # torch's own words, as spec.check raises them
    help.meaning                         # the same in plain words, for this shape
    for fix in help.fixes:               # only choices torch accepts (each checked here with spec.check)
        new_spec, new_shape = fix.apply(spec, shape)

A fix changes the layer's parameters (named as torch.nn names them), or the layer itself, or
the input's shape (a reshape of the same numbers: a seeded draw of the new shape is that
reshape). Which refusal it is, and the numbers behind it, come with spec.check's TorchRefusal
(its reason and numbers): nothing here tells the refusals apart again.
"""

from dataclasses import dataclass

from .errors import InputError, TorchRefusal
from .layers import divisors, suffixes
from .spec import DEFAULT_EPS, NormSpec


@dataclass(frozen=True)
class Fix:
    """One choice torch accepts instead.

    label: what the choice is, short, e.g. "(2, 3)", "num_groups=2", "shape (2, 3)".
    changes: the parameters it sets, as ((name, value), ...) with torch.nn's names;
        a "kind" among them means another layer (built from these changes and eps alone).
    shape: the input's new shape, or None to keep the input.
    why: one sentence on what the choice does.
    """

    label: str
    changes: tuple = ()
    shape: tuple = None
    why: str = ""

    def apply(self, spec, shape):
        """(spec, shape) after the fix."""
        changes = dict(self.changes)
        if "kind" in changes and changes["kind"] != spec.kind:
            new = NormSpec(eps=spec.eps, **changes)  # another layer: torch's defaults but for eps
        else:
            new = spec.with_(**changes)
        return new, tuple(self.shape) if self.shape is not None else tuple(shape)


@dataclass(frozen=True)
class Refusal:
    """torch's refusal of a layer on an input, explained.

    torch_message: torch's words (what spec.check raises). meaning: what they say about this
    shape, in plain words. fixes: the choices torch accepts, each a Fix.
    """

    torch_message: str
    meaning: str
    fixes: tuple = ()


def _shape_text(shape):
    """A shape as torch prints a tuple: '(4, 2, 3)', '(3,)'."""
    return str(tuple(int(d) for d in shape))


def _or_list(items):
    """'a', 'a or b', 'a, b or c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _dims_text(first, count):
    """'dim 1', 'dims 0 and 1', 'dims 1 to 3'."""
    if count == 1:
        return f"dim {first}"
    if count == 2:
        return f"dims {first} and {first + 1}"
    return f"dims {first} to {first + count - 1}"


def refusal_help(spec, shape):
    """What torch's refusal of spec on an input of `shape` means, and the choices it accepts.

    None where torch accepts spec on shape. Every Fix returned is accepted (checked here);
    the tests check each against torch.nn's modules as well.
    """
    shape = tuple(int(d) for d in shape)
    try:
        spec.check(shape)
        return None
    except TorchRefusal as e:
        refusal = e
    except InputError as e:  # a refusal without a reason: torch's words alone
        return Refusal(str(e), "", ())
    numbers = dict(refusal.numbers)
    meaning, fixes = EXPLAIN[refusal.reason](spec, numbers.pop("shape"), **numbers)
    kept = tuple(f for f in fixes if NormSpec.accepts(*f.apply(spec, shape)))
    return Refusal(str(refusal), meaning, kept)


# ---- LayerNorm and RMSNorm: normalized_shape is the trailing dims ------------------------------


def _trailing(spec, shape):
    """normalized_shape that is not the input's last dims (or longer than the input)."""
    ns, k, ndim = spec.normalized_shape, len(spec.normalized_shape), len(shape)
    name = spec.class_name
    choices = suffixes(shape)  # every choice torch accepts, last dim first
    listed = _or_list([_shape_text(s) for s in choices])
    meaning = (f"normalized_shape must be the last dims of the input, which {name} then pools together: "
               f"for {_shape_text(shape)} that is {listed}; ")
    if k > ndim:
        meaning += (f"{_shape_text(ns)} has {k} dims and the input only {ndim}.")
    else:
        # where ns sits in the input, if it does: the right-most run of dims with those sizes
        starts = [i for i in range(ndim - k, -1, -1) if shape[i:i + k] == ns]
        if starts:
            i = starts[0]
            where = ("the middle dim" if k == 1 and ndim == 3 and i == 1 else _dims_text(i, k))
            moved = tuple(d for j, d in enumerate(shape) if not i <= j < i + k) + ns
            src = str(i) if k == 1 else str(tuple(range(i, i + k)))
            dst = "-1" if k == 1 else str(tuple(range(-k, 0)))
            meaning += (f"{_shape_text(ns)} is {where}, not the last. To normalize over {_dims_text(i, k)} "
                        f"alone, move {'it' if k == 1 else 'them'} to the end first: x.movedim({src}, {dst}) "
                        f"has shape {_shape_text(moved)}, which {name}({_shape_text(ns)}) accepts.")
        else:
            meaning += f"no run of dims of {_shape_text(shape)} has the sizes {_shape_text(ns)}."
    fixes = [Fix(_shape_text(s), (("normalized_shape", s),),
                 why="pools the last dim" if len(s) == 1 else f"pools the last {len(s)} dims together")
             for s in choices]
    return meaning, fixes


# ---- BatchNorm, InstanceNorm, GroupNorm: (N, C, *) input ------------------------------------------


def _too_few_dims(spec, shape):
    """A 1-D (or 0-D) input for a layer that takes (N, C, *)."""
    name = spec.class_name
    meaning = (f"{name} takes (N, C, *) input: a batch dim, a channel dim, then any spatial dims; "
               f"{_shape_text(shape)} has {len(shape)} dim{'s' if len(shape) != 1 else ''}. Add the missing "
               "dims with a reshape (the same numbers), or normalize the values with LayerNorm.")
    fixes = []
    for new in ((1, 1) + shape, (1,) + shape, shape + (1,)):
        if len(new) >= 2:
            how = {(1, 1) + shape: "one sample, one channel", (1,) + shape: "one sample, each value a channel",
                   shape + (1,): "each value a sample of one channel"}[new]
            fixes.append(Fix(f"shape {_shape_text(new)}", shape=new, why=f"{how} (x.reshape{_shape_text(new)})"))
    if shape:
        fixes.append(Fix(f"LayerNorm({_shape_text(shape[-1:])})",
                         (("kind", "layer"), ("normalized_shape", shape[-1:])),
                         why="pools the last dim instead"))
    return meaning, fixes


def _groups_do_not_divide(spec, shape, n, c, spatial):
    """num_groups that does not divide the channels."""
    g = spec.num_groups
    meaning = (f"GroupNorm splits the C = {c} channels (dim 1 of {_shape_text(shape)}) into num_groups groups of "
               f"equal size, so num_groups must divide {c}: {_or_list([str(d) for d in divisors(c)])}. With {g} "
               f"the groups would hold {c}/{g} channels each.")
    fixes = [Fix(f"num_groups={d}", (("num_groups", d),), why=f"{c // d} channel{'s' if c // d > 1 else ''} a group")
             for d in divisors(c)]
    return meaning, fixes


def _one_value_per_group(spec, shape, n, c, spatial):
    """GroupNorm whose every group holds one element (N = 1, num_groups = C, no spatial elements)."""
    g = spec.num_groups
    meaning = (f"GroupNorm({g}) on {_shape_text(shape)} puts each of the {c} channels of the one sample in a group "
               "of its own, with one element: its variance is 0 and its output would be 0. torch refuses it (it "
               "checks the groups as BatchNorm checks channels, in eval mode too). Fewer groups, or more samples, "
               "give each group more than one value.")
    fixes = [Fix(f"num_groups={d}", (("num_groups", d),), why=f"{c // d} channels a group")
             for d in divisors(c)[:-1]]
    more = (2,) + shape[1:]
    fixes.append(Fix(f"shape {_shape_text(more)}", shape=more, why="a batch of 2 samples"))
    return meaning, fixes


def _running_stats_fix(spec):
    """Eval mode with running statistics: the input's own statistics are not used at all."""
    return Fix("eval mode, with running statistics", (("training", False), ("track_running_stats", True)),
               why=f"{spec.class_name} then normalizes with running_mean and running_var, as at inference")


def _one_value_per_channel(spec, shape, n, c, spatial):
    """BatchNorm in training (or eval without running statistics) with one value per channel."""
    in_eval = " (in eval mode too, without track_running_stats)" if not spec.training else ""
    meaning = (f"BatchNorm in training pools each channel over the batch and the spatial dims{in_eval}: "
               f"{_shape_text(shape)} has N = {n} and {_spatial_text(shape, spatial)}, so each of the {c} channels has one value, "
               "whose variance is 0. torch refuses. Use the running statistics (eval mode), a larger batch, or a "
               "layer that pools within a sample.")
    more = (2,) + shape[1:]
    rest = shape[1:]
    fixes = [_running_stats_fix(spec),
             Fix(f"shape {_shape_text(more)}", shape=more, why="a batch of 2 samples"),
             Fix(f"LayerNorm({_shape_text(rest)})", (("kind", "layer"), ("normalized_shape", rest)),
                 why="pools each sample's values together")]
    return meaning, fixes


def _one_spatial_element(spec, shape, n, c, spatial):
    """InstanceNorm in training (or eval without running statistics) with one spatial element."""
    meaning = (f"InstanceNorm pools each (sample, channel) over its spatial dims (dims 2 and on): "
               f"{_shape_text(shape)} has {_spatial_text(shape, spatial)}, so each group has one value, whose "
               "variance is 0. torch refuses in training, and in eval mode without track_running_stats. Use the "
               "running statistics (eval mode), or BatchNorm, which pools each channel over the batch.")
    fixes = [_running_stats_fix(spec), Fix("BatchNorm", (("kind", "batch"),), why="pools each channel over the batch")]
    return meaning, fixes


def _eps_not_positive(spec, shape, n, c, spatial):
    """BatchNorm in training (or eval without running statistics) with eps <= 0."""
    meaning = (f"BatchNorm in training divides by sqrt(var + eps) with each channel's variance over this batch, "
               f"which may be 0, so F.batch_norm takes only an eps above 0; eps = {spec.eps:g} is not. In eval mode "
               "with running statistics it divides by sqrt(running_var + eps) and takes eps = 0 too.")
    fixes = [Fix(f"eps={DEFAULT_EPS:g}", (("eps", DEFAULT_EPS),), why="torch's default")]
    if spec.eps == 0:
        fixes.append(_running_stats_fix(spec))
    return meaning, fixes


def _eps_negative(spec, shape, n, c, spatial):
    """BatchNorm in eval with running statistics and eps < 0."""
    meaning = (f"BatchNorm in eval mode divides by sqrt(running_var + eps); F.batch_norm takes no negative eps "
               f"there (in training none at or below 0), and eps = {spec.eps:g} is negative. The other layers take "
               "a negative eps as given.")
    return meaning, [Fix(f"eps={DEFAULT_EPS:g}", (("eps", DEFAULT_EPS),), why="torch's default")]


def _spatial_text(shape, spatial):
    """'no spatial dims', or '1 spatial element'."""
    return "no spatial dims" if len(shape) == 2 else f"{spatial} spatial element"


# each TorchRefusal's reason: the function that says what it means and which choices torch accepts instead
EXPLAIN = {"normalized_shape": _trailing, "too_few_dims": _too_few_dims, "groups_do_not_divide": _groups_do_not_divide,
           "one_value_per_group": _one_value_per_group, "one_value_per_channel": _one_value_per_channel,
           "one_spatial_element": _one_spatial_element, "eps_not_positive": _eps_not_positive,
           "eps_negative": _eps_negative}
