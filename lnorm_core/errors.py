"""The one exception lnorm raises for bad input, the limits it enforces, and the checks every module shares.

    number(value, name)       a real number as a float, else InputError naming it
    is_whole_number(value)    an int or numpy integer, not a bool: what a size, a seed or a count is
    shown(word)               a piece of input, quoted and cut short for a message

Every limit is a plain module constant so the README, the pages and the tests
quote the same number. Many people share one hosted server, so each limit is
checked before anything of that size is allocated.
"""

import math
import numbers

# The largest tensor the explorer, the compare page and the pitfalls page accept.
MAX_ELEMENTS = 2**20  # 1,048,576 elements: float64 is 8 MiB, a forward well under a second
# The most dims a tensor may have (torch allows more; nobody draws them).
MAX_DIMS = 6
# The longest pasted text parse_tensor reads (characters), and its deepest nesting.
MAX_PASTE_CHARS = 2_000_000
MAX_NESTING = 8
# A timing run: the largest tensor one measurement may allocate, and its time budget.
MAX_TIMING_ELEMENTS = 2**24  # 16 Mi elements, 64 MiB in float32
MAX_TIMING_SECONDS = 60.0


class InputError(ValueError):
    """Bad input from a person: the message says what is wrong and how to fix it.

    Where torch itself refuses a configuration, the message carries torch's own
    text word for word, so a search for it finds the same answers.
    """


class TorchRefusal(InputError):
    """torch's refusal of a layer on an input: str() is torch's message, word for word.

    reason: which refusal it is, a key of lnorm_core.refusal's explanations ("normalized_shape",
    "too_few_dims", "groups_do_not_divide", "one_value_per_group", "one_value_per_channel",
    "one_spatial_element", "eps_not_positive", "eps_negative"). numbers: what the check found,
    e.g. {"shape": (1, 3), "n": 1, "c": 3, "spatial": 1}, so that an explanation need not find it again.
    """

    def __init__(self, message, reason, **numbers):
        super().__init__(message)
        self.reason = reason
        self.numbers = numbers


_MAX_SHOWN = 20  # characters of a piece of input shown in a message


def shown(word: str) -> str:
    """A piece of a person's input, quoted and cut short for a message: 'abc', 'aaaaaaaaaaaaaaaaaaaa...'."""
    if len(word) > _MAX_SHOWN:
        word = word[:_MAX_SHOWN] + "..."
    return repr(word)


def number(value, name: str, finite: bool = False) -> float:
    """A real number (an int or a float, numpy's too; not a bool, not text) as a float, else an
    InputError naming it: "eps must be a number, got 'x' (str)". finite=True refuses nan and inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {shown(str(value))} ({type(value).__name__})")
    value = float(value)
    if finite and not math.isfinite(value):
        raise InputError(f"{name} must be finite, got {value}")
    return value


def is_whole_number(value) -> bool:
    """Whether value is an int or a numpy integer: not a bool (True is not a size), not a float however round."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
