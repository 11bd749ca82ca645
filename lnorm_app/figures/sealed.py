"""Sealed figures: built once, shown on every rerun that shows their result, written to the browser fast.

A page's figure is the same for every rerun and every session that shows the same cached result, so it
is built once (shown_once, shown_by_value) and sealed: its dict, the one st.plotly_chart asks for, is made
once, in the form plotly's Figure.to_dict() gives (numeric arrays as base64 typed arrays), ready for
orjson as it is. Nothing may change a sealed figure: it is shared between sessions.
"""

import base64
import copy
import functools

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import plotlyjsShortTypes

from ..cache import by_value, derived, freeze

# what orjson writes of an array as it is (numbers and booleans, contiguous); plotly's cleaning makes the rest lists
ORJSON_DTYPES = {np.dtype(t) for t in ("float64", "float32", "int8", "int16", "int32", "int64", "uint8", "uint16",
                                      "uint32", "uint64", "bool")}
NOT_TYPED = ("geojson", "layer", "layers", "range")  # keys whose arrays plotly leaves as they are (is_skipped_key)


def figure(traces, layout):
    """A Figure of trace dicts (each with its "type") and a layout dict, built without plotly's validation.

    Validating every property on assignment is ~10 ms a figure, most of a page's rerun; these
    builders' output is validated instead by the tests (tests/app/test_figures_space.py), over the
    whole space of shapes and values, with go.Figure(fig.to_dict()) and to_json(validate=True).
    """
    return go.Figure(data=[_drop_none(t) for t in traces], layout=_drop_none(layout), _validate=False)


class SealedFigure(go.Figure):
    """A figure that is shown again and again and never changed: its dict is made once, when it is sealed.

    st.plotly_chart turns a Figure into a dict with to_dict(), a deep copy of every trace and axis
    (2 to 9 ms for a grid of heatmaps), on every rerun that shows it; a sealed figure hands over the
    dict it made when it was sealed, whose arrays are read-only. Sealed figures are shared between
    sessions (see shown_once): nothing may change one.
    """

    def to_dict(self):
        return self._sealed


class DictFigure(SealedFigure):
    """A sealed figure made straight from trace and layout dicts: no plotly object is built to show it.

    st.plotly_chart asks a figure for its dict only; building a Figure of a small chart's dicts (even
    without validation) and copying its dict back cost ~3 ms, more than the chart's numbers. Anything
    else asked of it (fig.data, fig.layout, as the tests and note_of read them) is answered by a
    Figure built from the same dicts on first use; it is not to be changed either.
    """

    def __init__(self, traces, layout):  # plotly's own __init__ would build every object: see __getattr__
        data, layout = [_drop_none(t) for t in traces], _drop_none(layout)
        sealed = {"data": _drop_none(data), "layout": _drop_none(layout)}  # its own dicts: converted in place
        freeze(wire_ready(sealed))  # arrays as plotly's base64 typed arrays, as Figure.to_dict() gives them
        sealed["layout"]["template"] = _template()
        self.__dict__.update(_sealed=sealed, _dicts=(data, layout), _figure=None)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_sealed", "_dicts", "_figure"):
            raise AttributeError(name)
        figure = self.__dict__["_figure"]
        if figure is None:
            data, layout = self.__dict__["_dicts"]
            figure = self.__dict__["_figure"] = go.Figure(data=data, layout=layout, _validate=False)
        return getattr(figure, name)


_templates = {}  # the theme's name -> its template as a Figure's dict holds it, made once and shared


def _template():
    """The default theme's template as Figure.to_dict() would hold it (Streamlit's, under Streamlit)."""
    name = pio.templates.default
    if name not in _templates:
        _templates[name] = go.Figure().to_dict()["layout"].get("template", {})
    return _templates[name]


def sealed_figure(traces, layout):
    """figure(traces, layout), sealed and built no further than its dict (a DictFigure): for a builder that
    hands its figure straight to be shown."""
    return DictFigure(traces, layout)


def seal(fig):
    """fig, sealed in place (the same object, so that its traces' and layout's links to it still hold).

    Its dict is what Figure.to_dict() gives (arrays as plotly's base64 typed arrays), but the theme's
    template, most of a small figure's dict, is the figure's own, not copied nor walked: nothing changes it.
    """
    if isinstance(fig, SealedFigure):
        return fig
    layout = dict(fig._layout)
    template = layout.pop("template", None)
    sealed = {"data": copy.deepcopy(fig._data), "layout": copy.deepcopy(layout)}
    freeze(wire_ready(sealed))
    if template is not None:
        sealed["layout"]["template"] = template
    fig.__class__ = SealedFigure
    fig._sealed = sealed
    return fig


def wire_ready(value):
    """A figure's dict (or any part of it) as plotly writes it to the browser, made in place; returns value.

    Numeric arrays under a dict's key become plotly.js typed arrays, {"dtype", "bdata", "shape"}, as
    Figure.to_dict() makes them (plotly's convert_to_base64, int64 narrowed to the smallest int type that
    holds its values); every other array becomes what plotly's cleaning makes of it (a list, a contiguous
    copy). Both once, where plotly would do them on every rerun that shows the figure:
      - convert_to_base64 copies each array through narwhals' checks, ~0.1 ms an array, 1 ms for a small grid;
      - st.plotly_chart writes the dict with plotly.io.to_json, whose orjson engine first tries the dict as
        it is; where that raises (an array of text, say) it walks and copies the whole dict first, ~1 ms.
    A dict this gives is written by orjson in one go, with the same JSON.
    """
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, v in items:
        if isinstance(v, np.ndarray):
            typed = typed_array(v) if isinstance(key, str) and key not in NOT_TYPED else None
            value[key] = typed if typed is not None else _plain(v)
        elif isinstance(v, tuple):
            value[key] = wire_ready(list(v))
        elif isinstance(v, (dict, list)):
            wire_ready(v)
    return value


def typed_array(a):
    """A numeric array as plotly's to_typed_array_spec writes it, base64 of its bytes; None where plotly keeps an
    array (empty, not numeric, an int64 beyond int32, a type plotly.js has no typed array of)."""
    if not a.size or a.dtype.kind not in "iuf":
        return None
    if a.dtype in (np.int64, np.uint64):
        lo, hi = a.min(), a.max()
        narrower = ("int8", "int16", "int32") if a.dtype == np.int64 else ("uint8", "uint16", "uint32")
        a = next((a.astype(t) for t in narrower if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max), None)
        if a is None:
            return None
    short = plotlyjsShortTypes.get(str(a.dtype))
    if short is None:
        return None
    spec = {"dtype": short, "bdata": base64.b64encode(np.ascontiguousarray(a)).decode("ascii")}
    if a.ndim > 1:
        spec["shape"] = str(a.shape)[1:-1]
    return spec


def _plain(a):
    """An array orjson writes as it is: numbers contiguous, anything else a list (dates as text)."""
    if a.dtype in ORJSON_DTYPES:
        return a if a.flags.c_contiguous else np.ascontiguousarray(a)
    if a.dtype.kind == "M":
        return np.datetime_as_string(a).tolist()
    return wire_ready(a.tolist())


def shown_once(builder):
    """A figure builder whose figure is built and sealed once for each result and arguments, then shared.

    The first argument is what a page model returned (cached on the Config, and the same object on
    every rerun that shows it); the figure lives as long as that result (lnorm_app.cache.derived).
    """
    @functools.wraps(builder)
    def build(result, *args, **kwargs):
        return seal(builder(result, *args, **kwargs))
    return derived(build)


def shown_by_value(builder):
    """A figure builder whose arguments are small values (frozen rows, strings): its figure built and sealed once
    for those values (lnorm_app.cache.by_value), then shared."""
    @functools.wraps(builder)
    def build(*args, **kwargs):
        return seal(builder(*args, **kwargs))
    return by_value(build)


def _drop_none(value):
    """A dict without its None values, at every depth (None means "plotly's default", as it does validated)."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
