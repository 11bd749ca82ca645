"""The one exception lnorm raises for bad input, the limits it enforces, and how a message quotes input.

Every limit is a plain module constant so the README, the pages and the tests
quote the same number. Many people share one hosted server, so each limit is
checked before anything of that size is allocated.
"""

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


_MAX_SHOWN = 20  # characters of a piece of input shown in a message


def shown(word: str) -> str:
    """A piece of a person's input, quoted and cut short for a message: 'abc', 'aaaaaaaaaaaaaaaaaaaa...'."""
    if len(word) > _MAX_SHOWN:
        word = word[:_MAX_SHOWN] + "..."
    return repr(word)
