"""Hostile snippets are read as "unreadable", never run: no file appears, no module is imported, nothing printed.

Each snippet would, if executed, write a file, import a module, print, or loop for long; the reader must name a line
and what it could not read, without any of that happening, and within its limits (see lnorm_core.read_code.limits).
"""

import os
import sys

import numpy as np
import pytest

import lnorm_core as lc
from lnorm_core.read_code import limits

MARK = "lnorm_pwned"
WRITE = f"open('{MARK}', 'w').write('x')"
HOSTILE = {
    "import os": f"import os\nos.system('touch {MARK}')",
    "from os import system": f"from os import system\nsystem('touch {MARK}')",
    "import subprocess": "import subprocess as torch\ntorch.run(['true'])",
    "import numpy.ctypeslib": "import numpy.ctypeslib",
    "relative import": "from . import secrets",
    "__import__": f"__import__('os').system('touch {MARK}')",
    "dunder walk": "().__class__.__base__.__subclasses__()",
    "dunder attribute on a tensor": "import torch\nx = torch.randn(2)\nx.__class__",
    "globals": "globals()['x'] = 1",
    "builtins": "__builtins__['open']",
    "open": WRITE,
    "exec": f"exec(\"{WRITE}\")",
    "eval": f"eval(\"{WRITE}\")",
    "compile": f"compile(\"{WRITE}\", 'f', 'exec')",
    "getattr with a string": "import torch\ngetattr(torch, 'save')(1, 'f')",
    "torch.save": f"import torch\ntorch.save(torch.randn(2), '{MARK}')",
    "torch.load": "import torch\ntorch.load('model.pt')",
    "np.save": f"import numpy as np\nnp.save('{MARK}', np.ones(2))",
    "np.load": "import numpy as np\nnp.load('x.npy', allow_pickle=True)",
    "torch.hub": "import torch\ntorch.hub.load('repo', 'model')",
    "torch.ops": "import torch\ntorch.ops.aten.add",
    "lambda trick": f"(lambda: {WRITE})()",
    "lambda default": "f = lambda a=print('hi'): a",
    "class": "class A:\n    def __init__(self):\n        print('hi')\nA()",
    "decorator": "import torch\n@torch.no_grad\ndef f(x):\n    return x",
    "try/except": "try:\n    print(1)\nexcept Exception:\n    pass",
    "while loop": "while True:\n    pass",
    "huge range loop": "import torch\ns = 0\nfor i in range(10 ** 9):\n    s = s + i",
    "huge comprehension": "y = [i for i in range(10 ** 8)]",
    "nested comprehension": "y = [[i * j for i in range(5000)] for j in range(5000)]",
    "huge tensor": "import torch\nx = torch.randn(100000, 100000)",
    "huge tensor by broadcast": "import torch\na = torch.ones(1, 4096)\nb = torch.ones(4096, 1)\nc = a * b * x",
    "huge power": "y = 10 ** 10 ** 10",
    "huge int literal": "y = " + "9" * 1200,
    "deep parentheses": "y = " + "(" * 500 + "1" + ")" * 500,
    "deep unary": "y = " + "-" * 15_000 + "1",
    "long chain": "y = 1" + " + 1" * 4_000,
    "too many characters": "# " + "a" * (limits.MAX_CODE_CHARS + 10),
    "too many lines": "x = 1\n" * (limits.MAX_CODE_LINES + 5),
    "deep recursion": "def f(a):\n    return f(a)\nf(1)",
    "mutual recursion": "def f(a):\n    return g(a)\ndef g(a):\n    return f(a)\nf(1)",
    "work bomb": "import torch\nx = torch.randn(1024, 1024)\nfor i in range(5000):\n    x = x * 1.0",
    "list bomb": "y = []\nfor i in range(10 ** 6):\n    y.append(i)",
    "walrus": "if (n := 10):\n    print(n)",
    "global": "def f():\n    global x\n    x = 1",
    "with open": f"with open('{MARK}', 'w') as f:\n    f.write('x')",
    "del": "import torch\ndel torch",
    "async": "async def f():\n    await g()",
    "starred kwargs": "import torch\nargs = {}\ntorch.randn(2, **args)",
    "a dict": "d = {'a': 1}",
    "f-string call": f"y = f'{{{WRITE}}}'",
    "print in f-string of unknown": "print(f'{os.getcwd()}')",
    "format string method": "'{0.__class__}'.format(1)",
    "type()": "type('A', (), {})",
    "vars": "vars()",
    "breakpoint": "breakpoint()",
    "input": "input()",
    "sys via torch attribute": "import torch\ntorch.sys.exit()",
    "numpy attribute walk": "import numpy as np\nnp.lib.format.open_memmap('f')",
    "string method": "'abc'.join(['a'])",
    "subscript assignment": "import torch\nx = torch.randn(2)\nx[0] = 1.0",
    "attribute assignment": "import torch\nx = torch.randn(2)\nx.data = 1",
}


@pytest.fixture
def sandbox(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_snippet_is_unreadable_and_nothing_runs(name, sandbox, capfd):
    code = HOSTILE[name]
    lc.read_code("import torch\ny = x", lc.NormSpec("layer", normalized_shape=(4,)), x=np.zeros((2, 4)))
    before = set(sys.modules)
    r = lc.read_code(code, lc.NormSpec("layer", normalized_shape=(4,)), x=np.ones((2, 4)))
    assert r.verdict == "unreadable", (name, r)
    assert r.problems and all(isinstance(line, int) and what for line, what in r.problems), r.problems
    assert set(sys.modules) == before, set(sys.modules) - before
    assert os.listdir(sandbox) == []
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_the_corpus_is_large_and_each_refusal_names_a_line_or_a_limit():
    assert len(HOSTILE) >= 50
    r = lc.read_code(HOSTILE["dunder walk"])
    assert r.problems == ((1, "the attribute .__base__: attributes that start with _ are not read"),) or \
        r.problems[0][0] == 1
    r = lc.read_code(HOSTILE["huge range loop"], x=np.ones(4))
    assert "MAX_LOOP_ITERATIONS" in r.problems[0][1] and r.problems[0][0] == 3  # the for line
    r = lc.read_code(HOSTILE["huge tensor"])
    assert "MAX_ELEMENTS" in r.problems[0][1] and r.problems[0][0] == 2
    r = lc.read_code(HOSTILE["import os"])
    assert r.problems[0] == (1, "import os: only torch, torch.nn, torch.nn.functional, numpy, math, statistics "
                                "are read")
