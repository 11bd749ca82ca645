"""A normalization as a recipe of named steps, and the usual hand-computation mistakes as wrong steps.

Every kind of normalization is the same five steps (STEPS) on a different grouping of the
elements: pool, mean, variance, denominator, affine. A Recipe says how each step is taken;
its defaults are what torch computes. A mistake (MISTAKES) is the right recipe with one step
changed, a combination of mistakes changes several, and what a person's code computes is a
recipe too:

    import lnorm_core as lc
    r = lc.Recipe.from_mistakes(("unbiased", "std_under_sqrt"))   # Recipe(ddof=1, under_root="std")
    r.mistakes, r.steps_changed                                    # the names back; ('variance', 'denominator')
    lc.manual_forward(spec, x, recipe=lc.Recipe(pool=(0, 2)))     # any recipe, e.g. dims of your own choice
"""

from dataclasses import dataclass, fields, replace

from .errors import InputError, is_whole_number


@dataclass(frozen=True)
class Step:
    """One named step of the hand computation: what it does, and its right line of code."""

    title: str
    right: str


# The hand computation of one reduction group, step by step: every kind is these five steps on a
# different pooling. A mistake is the wrong version of exactly one of them (Mistake.step).
STEPS = {
    "pool": Step("take the elements that share one mean and variance (the layer's reduction dims)",
                 "xg = x[..., :]  # LayerNorm((4,)): the last dim; see lc.group_ids for every kind"),
    "mean": Step("their mean: the sum over n", "mean = xg.sum() / n"),
    "variance": Step("their variance: the mean of the squared deviations, divided by n (biased)",
                     "var = ((xg - mean) ** 2).sum() / n  # biased: divide by n, as torch's norms do"),
    "denominator": Step("the denominator: the square root of the variance plus eps; each deviation divided by it",
                        "x_hat = (xg - mean) / np.sqrt(var + eps)  # eps inside the root"),
    "affine": Step("the learnable weight and bias, element by element", "y = x_hat * weight + bias"),
}

POOLS = ("layer", "whole_sample")  # a Recipe's pool: one of these, or a tuple of dims of x
UNDER_ROOT = ("var", "std")
EPS_PLACES = ("inside", "outside", "none")


@dataclass(frozen=True)
class Recipe:
    """How each step of STEPS is taken; the defaults are torch's.

    pool: "layer" (the layer's own groups), "whole_sample" (every dim but the first: the whole
        sample, or all of a 1-D x), or a tuple of dims of x to reduce over (a choice of one's own).
    ddof: the variance divides by n - ddof: 0 as torch's norms do, 1 as torch.var and
        statistics.stdev do by default.
    one_pass: the variance as E[x^2] - E[x]^2 instead of the mean of squared deviations.
    under_root: what goes under the square root, "var" or "std".
    eps: where eps goes: "inside" the root, "outside" it (added to the root), or "none".
    affine: whether the layer's weight and bias are applied.
    """

    pool: object = "layer"
    ddof: int = 0
    one_pass: bool = False
    under_root: str = "var"
    eps: str = "inside"
    affine: bool = True

    def __post_init__(self):
        if isinstance(self.pool, str):
            if self.pool not in POOLS:
                raise InputError(f"pool must be one of {', '.join(POOLS)} or a tuple of dims, got {self.pool!r}")
        else:
            try:
                dims = tuple(self.pool)
            except TypeError:
                raise InputError(f"pool must be one of {', '.join(POOLS)} or a tuple of dims, "
                                 f"got {self.pool!r}") from None
            if not dims or not all(is_whole_number(d) for d in dims):
                raise InputError(f"pool's dims must be one or more whole numbers, got {self.pool!r}")
            object.__setattr__(self, "pool", tuple(int(d) for d in dims))
        if self.ddof not in (0, 1) or isinstance(self.ddof, bool):
            raise InputError(f"ddof must be 0 (divide by n) or 1 (by n - 1), got {self.ddof!r}")
        if self.under_root not in UNDER_ROOT:
            raise InputError(f"under_root must be one of {', '.join(UNDER_ROOT)}, got {self.under_root!r}")
        if self.eps not in EPS_PLACES:
            raise InputError(f"eps must be one of {', '.join(EPS_PLACES)}, got {self.eps!r}")
        object.__setattr__(self, "one_pass", bool(self.one_pass))
        object.__setattr__(self, "affine", bool(self.affine))

    @classmethod
    def from_mistakes(cls, names=()):
        """The right recipe with each named mistake's step changed; InputError for an unknown name, or for two
        mistakes that change the same choice (no_eps and eps_outside_sqrt: two answers to where eps goes)."""
        if isinstance(names, str):
            names = (names,)
        changes = {}
        for name in names:
            if name not in MISTAKES:
                raise InputError(f"unknown mistake {name!r}; choose among {', '.join(MISTAKES)}")
            for field, value in MISTAKES[name].change:
                if changes.get(field, (value,))[0] != value:
                    raise InputError(f"{changes[field][1]} and {name} cannot be made together: both change "
                                     f"{field}")
                changes[field] = (value, name)
        return cls(**{field: value for field, (value, _) in changes.items()})

    @property
    def mistakes(self):
        """The names of MISTAKES this recipe makes, in MISTAKES's order (a pool of one's own dims has no name)."""
        return tuple(name for name, m in MISTAKES.items() if all(getattr(self, f) == v for f, v in m.change))

    @property
    def steps_changed(self):
        """The STEPS this recipe takes otherwise than torch, in STEPS's order."""
        changed = {STEP_OF[f.name] for f in fields(self) if getattr(self, f.name) != getattr(RIGHT, f.name)}
        return tuple(step for step in STEPS if step in changed)

    def with_(self, **changes):
        """A copy with some choices changed (checked again)."""
        return replace(self, **changes)

    def layout(self, spec, shape):
        """The Layout the pool step gives spec on an input of `shape` (checked as torch checks it).

        The parameters stay where torch lays them: only the grouping changes.
        """
        lay = spec.layout(shape)
        if self.pool == "layer":
            return lay
        return lay.pooled_over(whole_sample_dims(len(lay.shape)) if self.pool == "whole_sample" else self.pool)

    def named(self, spec, shape):
        """The same recipe with a pool of dims written as "layer" or "whole_sample" where it pools as they do
        on `shape`, so that its mistakes are named."""
        if isinstance(self.pool, str):
            return self
        lay = self.layout(spec, shape)
        for name in POOLS:
            if self.with_(pool=name).layout(spec, shape).groups_equal(lay):
                return self.with_(pool=name)
        return self


def whole_sample_dims(ndim):
    """The dims the whole sample spans: every dim but the first (all of a 1-D x)."""
    return tuple(range(1, ndim)) if ndim > 1 else (0,)


STEP_OF = {"pool": "pool", "ddof": "variance", "one_pass": "variance", "under_root": "denominator",
           "eps": "denominator", "affine": "affine"}  # the step each choice of a Recipe belongs to
RIGHT = Recipe()  # what torch computes


@dataclass(frozen=True)
class Mistake:
    """A usual error of hand computation: the right recipe with one step (a key of STEPS) changed.

    title: its plain name, as the Pitfalls page says it. description: what goes wrong.
    wrong: the line that does it. fix: the line that fixes it.
    change: the choices of Recipe it makes, ((field, value), ...).
    """

    step: str
    title: str
    description: str
    wrong: str
    fix: str
    change: tuple = ()


MISTAKES = {
    "unbiased": Mistake(
        "variance", "n−1 in the variance (statistics.stdev, torch.std)",
        "divides the variance by n-1 (torch.var's default, statistics.stdev) where normalization divides by n",
        "var = ((x - mean) ** 2).sum() / (n - 1)",
        "var = ((x - mean) ** 2).mean()  # biased: divide by n, as torch's norms do",
        (("ddof", 1),),
    ),
    "std_under_sqrt": Mistake(
        "denominator", "std under the square root",
        "puts the standard deviation under the square root: sqrt(std + eps)",
        "y = (x - mean) / np.sqrt(std + eps)",
        "y = (x - mean) / np.sqrt(var + eps)  # the variance goes under the root",
        (("under_root", "std"),),
    ),
    "eps_outside_sqrt": Mistake(
        "denominator", "eps outside the root",
        "adds eps to the standard deviation instead of to the variance: std + eps",
        "y = (x - mean) / (np.sqrt(var) + eps)",
        "y = (x - mean) / np.sqrt(var + eps)  # eps inside the root",
        (("eps", "outside"),),
    ),
    "no_eps": Mistake(
        "denominator", "no eps",
        "leaves eps out: fine for most data, a division by zero for a constant group",
        "y = (x - mean) / np.sqrt(var)",
        "y = (x - mean) / np.sqrt(var + eps)  # eps=1e-5 by default",
        (("eps", "none"),),
    ),
    "whole_sample": Mistake(
        "pool", "pooled the whole sample",
        "pools every dim but the batch dim instead of the normalized dims",
        "mean = x.mean(axis=tuple(range(1, x.ndim)), keepdims=True)",
        "mean = x.mean(axis=(-1,), keepdims=True)  # only the dims of normalized_shape",
        (("pool", "whole_sample"),),
    ),
    "one_pass": Mistake(
        "variance", "one-pass variance",
        "computes the variance in one pass, E[x^2] - E[x]^2, which cancels catastrophically when the mean is large",
        "var = (x ** 2).mean() - x.mean() ** 2",
        "var = ((x - mean) ** 2).mean()  # two passes: subtract the mean first",
        (("one_pass", True),),
    ),
}


def as_recipe(recipe=None, mistakes=()):
    """A Recipe from a recipe or from mistake names (not both): the right one when neither is given."""
    if recipe is not None and mistakes:
        raise InputError("give a recipe or mistakes, not both")
    if recipe is None:
        return Recipe.from_mistakes(mistakes)
    if not isinstance(recipe, Recipe):
        raise InputError(f"recipe must be an lc.Recipe, got {type(recipe).__name__}")
    return recipe
