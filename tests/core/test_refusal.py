"""refusal_help against torch.nn: the message is torch's, and the fixes are exactly what torch accepts.

Every expectation here comes from torch.nn's modules (tests/torch_modules.py builds them from
torch's classes directly): the refused layer must raise torch's own message, and each fix the
help offers must run in torch. Where a parameter has a finite set of values (the suffixes of a
shape, the divisors of C), the offered set is compared with the set torch accepts.
"""

import itertools

import pytest
import torch

import lnorm_core as lc
from lnorm_core import refusal_help
from torch_modules import module_for

S = lc.NormSpec


def _torch_error(spec, shape):
    """torch's message for spec on a randn input of shape, or None where torch accepts it."""
    try:
        module_for(spec, shape)(torch.randn(*shape, dtype=torch.float64))
    except (RuntimeError, ValueError) as e:
        return str(e)
    return None


REFUSED = {
    "layer ns in the middle": (S("layer", normalized_shape=(2,)), (4, 2, 3)),
    "layer ns of the leading dims": (S("layer", normalized_shape=(4, 2)), (4, 2, 3)),
    "layer ns of no dims": (S("layer", normalized_shape=(5,)), (4, 2, 3)),
    "layer ns longer than the input": (S("layer", normalized_shape=(2, 3)), (3,)),
    "rms ns in the middle": (S("rms", normalized_shape=(5,)), (2, 5, 8)),
    "rms ns longer than the input": (S("rms", normalized_shape=(2, 3)), (3,)),
    "group 3 of 4 channels": (S("group", num_groups=3), (2, 4, 3)),
    "group 5 of 6 channels, 4-D": (S("group", num_groups=4), (2, 6, 3, 3)),
    "group one value a group": (S("group", num_groups=2), (1, 2)),
    "group one value a group, 4-D": (S("group", num_groups=3), (1, 3, 1, 1)),
    "batch one sample": (S("batch"), (1, 3)),
    "batch one sample, 4-D": (S("batch"), (1, 3, 1, 1)),
    "instance one spatial element": (S("instance"), (2, 3, 1)),
    "instance one spatial element, eval untracked": (S("instance", training=False), (2, 3, 1, 1)),
    "batch eps 0 in training": (S("batch", eps=0.0), (4, 3)),
    "batch negative eps in training": (S("batch", eps=-0.5), (4, 3, 2)),
    "batch negative eps in eval": (S("batch", eps=-0.5, training=False), (4, 3)),
}
TOO_FEW_DIMS = {"group 1-D": (S("group", num_groups=1), (5,))}


@pytest.mark.parametrize("name", list(REFUSED))
def test_the_message_is_torchs_word_for_word(name):
    spec, shape = REFUSED[name]
    r = refusal_help(spec, shape)
    assert r is not None and r.meaning
    assert r.torch_message == _torch_error(spec, shape)


def test_too_few_dims_starts_with_torchs_words():
    spec, shape = TOO_FEW_DIMS["group 1-D"]
    r = refusal_help(spec, shape)
    with pytest.raises(RuntimeError) as torch_says:
        torch.nn.GroupNorm(1, 5, dtype=torch.float64)(torch.randn(5, dtype=torch.float64))
    assert r.torch_message.startswith(str(torch_says.value))  # lnorm adds what (N, C, *) means
    assert "(N, C, *)" in r.meaning and "(5,) has 1 dim" in r.meaning


@pytest.mark.parametrize("name", list(REFUSED) + list(TOO_FEW_DIMS))
def test_every_fix_is_accepted_by_torch(name):
    spec, shape = {**REFUSED, **TOO_FEW_DIMS}[name]
    r = refusal_help(spec, shape)
    assert r.fixes
    for fix in r.fixes:
        new_spec, new_shape = fix.apply(spec, shape)
        assert _torch_error(new_spec, new_shape) is None, (fix.label, new_spec, new_shape)


def test_accepted_layers_have_no_refusal():
    assert refusal_help(S("layer", normalized_shape=(2, 3)), (4, 2, 3)) is None
    assert refusal_help(S("group", num_groups=2), (2, 4, 3)) is None
    assert refusal_help(S("batch", training=False), (1, 3)) is None  # running statistics


@pytest.mark.parametrize("kind", ["layer", "rms"])
@pytest.mark.parametrize("shape", [(4, 2, 3), (2, 5, 8), (3,), (2, 2, 2)])
def test_the_normalized_shape_choices_are_exactly_those_torch_accepts(kind, shape):
    # every run of the input's dims, and a few that are no run at all
    runs = {shape[i:j] for i in range(len(shape)) for j in range(i + 1, len(shape) + 1)}
    tried = runs | {(7,), (shape[-1], shape[0]), shape + (1,)}
    accepted = {ns for ns in tried if _torch_error(S(kind, normalized_shape=ns), shape) is None}
    for ns in tried - accepted:
        r = refusal_help(S(kind, normalized_shape=ns), shape)
        offered = {dict(f.changes)["normalized_shape"] for f in r.fixes}
        assert offered == accepted, (ns, offered, accepted)


@pytest.mark.parametrize("shape", [(2, 4, 3), (2, 6, 2, 2), (3, 12)])
def test_the_num_groups_choices_are_exactly_the_divisors_torch_accepts(shape):
    c = shape[1]
    accepted = {g for g in range(1, c + 2) if _torch_error(S("group", num_groups=g), shape) is None}
    assert accepted == {g for g in range(1, c + 1) if c % g == 0}  # the divisors, from torch
    for g in set(range(1, c + 2)) - accepted:
        r = refusal_help(S("group", num_groups=g), shape)
        assert {dict(f.changes)["num_groups"] for f in r.fixes} == accepted


def test_the_meaning_names_this_shapes_choices():
    r = refusal_help(S("layer", normalized_shape=(2,)), (4, 2, 3))
    assert "for (4, 2, 3) that is (3,), (2, 3) or (4, 2, 3); (2,) is the middle dim" in r.meaning
    assert [f.label for f in r.fixes] == ["(3,)", "(2, 3)", "(4, 2, 3)"]
    r = refusal_help(S("group", num_groups=3), (2, 4, 3))
    assert "num_groups must divide 4: 1, 2 or 4" in r.meaning
    r = refusal_help(S("batch"), (1, 3))
    assert "each of the 3 channels has one value" in r.meaning
    assert r.fixes[0].label == "eval mode, with running statistics"


def test_the_moved_dims_the_meaning_suggests_are_accepted_by_torch():
    # "(2,) is dim 1 ... x.movedim(1, -1) has shape (4, 3, 2), which LayerNorm((2,)) accepts"
    for ns, shape in (((2,), (4, 2, 3)), ((4, 2), (4, 2, 3)), ((5, 6), (5, 6, 7, 8))):
        r = refusal_help(S("layer", normalized_shape=ns), shape)
        code = r.meaning.split("move ")[1].split(": ")[1].split(" has shape")[0]  # x.movedim(..., ...)
        x = torch.randn(*shape, dtype=torch.float64)
        moved = eval(code, {"x": x})  # noqa: S307 - the test runs the code the page shows
        torch.nn.LayerNorm(ns, dtype=torch.float64)(moved)  # accepted
        assert str(tuple(moved.shape)) in r.meaning


@pytest.mark.parametrize("spec,shape", [(S("batch"), (1, 3)), (S("instance"), (2, 3, 1))])
def test_eval_with_running_statistics_is_what_torch_does_in_eval(spec, shape):
    fix = refusal_help(spec, shape).fixes[0]
    new, _ = fix.apply(spec, shape)
    assert not new.training and new.track_running_stats
    x = lc.seeded_tensor(shape, 0)
    m = module_for(new, shape)
    m.eval()
    with torch.no_grad():
        y = m(torch.from_numpy(x)).numpy()
    w, b = (p.detach().numpy().reshape(1, -1, *([1] * (len(shape) - 2))) if p is not None else fill
            for p, fill in ((m.weight, 1.0), (m.bias, 0.0)))  # InstanceNorm has no affine by default
    # a fresh layer's running_mean 0 and running_var 1, by hand
    torch.testing.assert_close(torch.from_numpy(y), torch.from_numpy(x / (1 + new.eps) ** 0.5 * w + b))


def test_a_refusal_it_does_not_know_keeps_torchs_words_alone():
    class Odd(type(S("layer", normalized_shape=(3,)))):
        def check(self, shape):
            raise lc.InputError("some new torch refusal")

    odd = Odd("layer", normalized_shape=(3,))
    r = refusal_help(odd, (2, 3))
    assert r.torch_message == "some new torch refusal" and r.meaning == "" and r.fixes == ()


def test_labels_are_plain_text():
    for spec, shape in itertools.chain(REFUSED.values(), TOO_FEW_DIMS.values()):
        for fix in refusal_help(spec, shape).fixes:
            assert not set(fix.label) & set("*`[]<>#|\\"), fix.label  # a button label is Markdown


def test_the_explorer_explains_exactly_the_refusals_it_meets():
    """Over layers and small shapes a person can reach: the explorer fails with InputError exactly where the
    refusal model has torch's words and an explanation, so every refused page shows help and no other does."""
    from lnorm_app.config import Config
    from lnorm_app.models.explorer import explore
    from lnorm_app.models.refusals import refusal_for

    shapes = [(3,), (1, 3), (2, 3), (2, 1, 4), (2, 4, 1), (1, 3, 1), (2, 3, 1, 1), (1, 2, 1, 1), (2, 4, 3, 3)]
    for shape in shapes:
        c = shape[1] if len(shape) > 1 else 1
        configs = [Config(shape=shape, kind=kind, normalized_shape=ns) for kind in ("layer", "rms")
                   for ns in lc.suffixes(shape) + [(7,)]]
        configs += [Config(shape=shape, kind="group", num_groups=g) for g in lc.divisors(c) + [c + 1]]
        configs += [Config(shape=shape, kind=kind, training=t, track_running_stats=True)
                    for kind in ("batch", "instance") for t in (True, False)]
        for config in configs:
            refusal = refusal_for(config)
            try:
                explore(config)
                refused = None
            except lc.InputError as e:
                refused = str(e)
            assert (refusal is None) == (refused is None), (config, refused)
            if refusal is not None:
                assert refusal.torch_message == refused and refusal.meaning
