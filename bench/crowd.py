"""What the visitors of bench/load.py do: the links they arrive by, the controls they change, how often.

Each visitor is a Session (bench/st_session.py) with its own random stream, seeded by its
number, so a run against lnorm and a run against the bare page see the same arrivals, the same
pauses and the same choices wherever the page has the control. A visitor arrives by a link
(FIRST_LINKS), then every 1.5 to 4.5 s changes one control (ACTIONS) on the page it is on;
after a few changes it leaves, and a new visitor takes its place. What it cannot do on this
page (no such control) falls back to a new seed, then to another tab, then to another page.

As people do: a link opens at its own settings (seed 0 unless it says otherwise), and a new seed
is mostly the number box's + (seed + 1), sometimes a number typed; so visitors meet the same
settings now and then, as a class that follows one lecture link does. Most presets they pick are
the small layouts people ask about; the larger tensors come now and then: one preset in ten is the
transformer block (8, 128, 512), about one change in 135 and one arrival in 150 the largest tensor
(1024, 1024), each a new computation of a million elements. Now and then a visitor moves the control
of one chart (the cube's group, the slice shown, the largest offset, the layer set against, the
training steps); the bare page has none, and there the visitor picks a new seed instead.
"""

import random
from urllib.parse import urlencode

PAGES = ("explorer", "compare", "pitfalls", "timing")
PAUSE_S = (1.5, 4.5)  # between two changes of one visitor
STAY = (5, 30)  # changes before a visitor leaves (a new one arrives in its place)
LARGEST = "1024, 1024"
BIG_PRESET, BIG_PRESET_SHARE = "8, 128, 512", 0.1  # the transformer block: one preset in ten

# the forum question of lnorm's Pitfalls page: torch.manual_seed(0); torch.randn(2, 3, 4) as printed, and the
# row y[0, 1] computed by hand with statistics.stdev under the root
EXAMPLE_X = ("tensor([[[-1.1258, -1.1524, -0.2506, -0.4339],\n [ 0.8487,  0.6920, -0.3160, -2.1152],\n"
             " [ 0.4681, -0.1577,  1.4437,  0.2660]],\n [[ 0.1665,  0.8744, -0.1435, -0.1116],\n"
             " [ 0.9318,  1.2590,  2.0050,  0.0537],\n [ 0.6181, -0.4128, -0.8411, -2.3160]]])")
EXAMPLE_ROW = "[0.9176, 0.7834, -0.0800, -1.6210]"

FIRST_LINKS = [  # (weight, what, page, query)
    (4, "defaults", "explorer", {}),
    (2, "defaults", "compare", {}),
    (2, "defaults", "pitfalls", {}),
    (1, "defaults", "timing", {}),
    (2, "preset", "explorer", {"shape": "2, 5, 8", "view": "Same pooling"}),
    (1, "preset", "compare", {"shape": "8, 128, 512"}),
    (1, "paste", "explorer", {"source": "paste", "paste": EXAMPLE_X}),
    (2, "finder", "pitfalls", {"source": "paste", "paste": EXAMPLE_X, "wrong": EXAMPLE_ROW}),
    (0.1, "largest", "explorer", {"shape": LARGEST}),
]
ACTIONS = [  # (weight, what)
    (6, "seed"), (1.5, "preset"), (0.1, "largest"), (1, "kind"), (2, "tab"), (1, "page"), (0.7, "paste"),
    (0.7, "row"), (0.5, "mistake"), (1, "chart"),
]
# the controls of one chart: the cube's group, the first slice shown, the variance sweep's largest offset,
# the layer set against in the finder, BatchNorm's training steps
CHART_CONTROLS = ("highlight", "slice", "max_offset", "against", "steps")


def pick(rng, weighted):
    """One entry of [(weight, ...)] at random, by weight: the entry without its weight."""
    entry = rng.choices(weighted, weights=[w[0] for w in weighted])[0]
    return entry[1:] if len(entry) > 2 else entry[1]


def printed_tensor(rng):
    """A small tensor as torch prints it, 4 decimals: what a visitor pastes."""
    rows, cols = rng.randint(2, 4), 4
    lines = ["[" + ", ".join(f"{rng.gauss(0, 1):7.4f}" for _ in range(cols)) + "]" for _ in range(rows)]
    return "tensor([" + ",\n        ".join(lines) + "])"


class Visitor:
    """One person: the link they arrive by, then one change after another (visit.next gives them)."""

    def __init__(self, number, seed=0):
        self.rng = random.Random(seed * 1_000_003 + number)
        self.largest = False  # at the largest tensor now: the next change leaves it
        self.seed = 0

    def first_link(self):
        """(what, page, query string) of the link this visitor arrives by."""
        what, page, query = pick(self.rng, FIRST_LINKS)
        self.seed = 0
        self.largest = what == "largest"
        return what, page, urlencode(query)

    def pause(self):
        return self.rng.uniform(*PAUSE_S)

    def stay(self):
        return self.rng.randint(*STAY)

    def next(self, session):
        """(what, how) for the next change on session's page: how is ("set", key, value) or ("goto", page)."""
        what = "preset" if self.largest else pick(self.rng, ACTIONS)
        for name in (what, "seed", "tab", "page"):
            how = getattr(self, f"_{name}")(session)
            if how is not None:
                self.largest = name == "largest"
                return name, how
        raise AssertionError("a visitor can always go to another page")

    def _seed(self, s):
        if "seed" not in s.widgets:
            return None
        self.seed = self.seed + 1 if self.rng.random() < 0.8 else self.rng.randrange(0, 100)
        return "set", "seed", float(self.seed)

    def _preset(self, s):
        w = s.widgets.get("preset")
        options = [o for o in w.options if "largest" not in o] if w else []
        big = [o for o in options if BIG_PRESET in o]
        small = [o for o in options if BIG_PRESET not in o]
        if not options:
            return None
        pool = big if big and (self.rng.random() < BIG_PRESET_SHARE or not small) else small
        return "set", "preset", self.rng.choice(pool)

    def _largest(self, s):
        w = s.widgets.get("preset")
        options = [o for o in w.options if "largest" in o] if w else []
        return ("set", "preset", options[0]) if options else None

    def _kind(self, s):
        w = s.widgets.get("kind")
        return ("set", "kind", self.rng.choice(w.options)) if w and w.options else None

    def _tab(self, s):
        tabs = [(k, w) for k, w in s.widgets.items() if w.kind == "tab_container" and len(w.options) > 1]
        if not tabs:
            return None
        key, w = self.rng.choice(tabs)
        return "set", key, self.rng.choice(w.options[1:] if self.rng.random() < 0.7 else w.options)

    def _page(self, s):
        return "goto", self.rng.choice([p for p in PAGES if p != s.page])

    def _paste(self, s):
        if "paste" in s.widgets:
            return "set", "paste", printed_tensor(self.rng)
        return ("set", "source", ["paste"]) if "source" in s.widgets else None

    def _row(self, s):
        if "wrong" not in s.widgets:
            return None
        row = EXAMPLE_ROW if self.rng.random() < 0.5 else "[" + ", ".join(
            f"{self.rng.gauss(0, 1):.4f}" for _ in range(4)) + "]"
        return "set", "wrong", row

    def _chart(self, s):
        keys = [k for k in CHART_CONTROLS if k in s.widgets]
        if not keys:
            return None
        key = self.rng.choice(keys)
        w = s.widgets[key]
        if w.kind in ("number_input", "slider") and w.bounds:
            value = float(self.rng.randint(int(w.bounds[0]), int(w.bounds[1])))
            return "set", key, [value] if w.kind == "slider" else value
        if w.options:
            value = self.rng.choice(w.options)
            return "set", key, [value] if w.kind == "select_slider" else value
        return None

    def _mistake(self, s):
        boxes = [k for k, w in s.widgets.items() if w.kind == "expandable" and k.startswith("open_")]
        if boxes:
            return "set", self.rng.choice(boxes), self.rng.random() < 0.8
        part = s.widgets.get("part")
        return ("set", "part", "Every mistake") if part and "Every mistake" in part.options else None
