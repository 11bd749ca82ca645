"""The limits of the code reader, and the first reading of a snippet: ast.parse after the cheap checks, then a walk
that refuses what the reader never reads (imports of other modules, names and attributes with underscores, classes,
lambdas, while loops, try, with, global...).

Every limit is a named constant here, quoted in the README's limits table. A pasted snippet is data: it is parsed
with ast (which compiles nothing to run) and never executed; these checks run before anything of its size is built.
"""

import ast
from dataclasses import dataclass

MAX_CODE_CHARS = 20_000  # characters of a snippet
MAX_CODE_LINES = 400  # lines of a snippet
MAX_BRACKETS = 30  # brackets open at once, counted before ast.parse (Python's own parser stops at 200)
MAX_AST_NODES = 5_000  # nodes of the parsed snippet
MAX_AST_DEPTH = 40  # nesting of the parsed snippet (an expression inside a call inside a loop ...)
MAX_STEPS = 200_000  # expressions and statements evaluated, loops and calls included
MAX_LOOP_ITERATIONS = 10_000  # iterations of every for loop and comprehension together
MAX_CALL_DEPTH = 4  # functions of the snippet calling each other
MAX_WORK = 64 * 2**20  # elements computed in all (a tensor op on n elements costs n)
MAX_LIST = 100_000  # items of a Python list the snippet builds
MAX_INT = 2**53  # a Python int the snippet computes (past it, a float, as the numbers it stands for)

# the modules a snippet may name in an import: read as the reader's vocabulary, never imported
MODULES = ("torch", "torch.nn", "torch.nn.functional", "numpy", "math", "statistics")

# the statements and expressions the reader walks; anything else is read as "unreadable" with its line
STATEMENTS = (ast.Module, ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.FunctionDef,
              ast.Return, ast.Import, ast.ImportFrom, ast.Pass, ast.With, ast.If)
EXPRESSIONS = (ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Slice, ast.Call, ast.keyword,
               ast.BinOp, ast.UnaryOp, ast.List, ast.Tuple, ast.ListComp, ast.GeneratorExp, ast.comprehension,
               ast.Starred, ast.JoinedStr, ast.FormattedValue, ast.Compare, ast.BoolOp, ast.IfExp,
               ast.arguments, ast.arg, ast.alias, ast.withitem)
CONTEXTS = (ast.Load, ast.Store, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)

WORDS = {  # what a refused node is, in the words of the message
    ast.Lambda: "a lambda", ast.ClassDef: "a class", ast.While: "a while loop", ast.Try: "try/except",
    ast.Raise: "raise", ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Delete: "del",
    ast.NamedExpr: "the := operator", ast.Yield: "yield", ast.YieldFrom: "yield from", ast.Await: "await",
    ast.AsyncFunctionDef: "async def", ast.AsyncFor: "async for", ast.AsyncWith: "async with",
    ast.Dict: "a dict", ast.Set: "a set", ast.DictComp: "a dict comprehension", ast.SetComp: "a set comprehension",
    ast.Assert: "assert", ast.Break: "break", ast.Continue: "continue",
}


class Unreadable(Exception):
    """Something in a snippet the reader does not read: its line (1-based, 0 for the whole snippet) and what."""

    def __init__(self, line, what):
        super().__init__(f"line {line}: {what}" if line else what)
        self.line = int(line or 0)
        self.what = what


@dataclass(frozen=True)
class Program:
    """A snippet parsed and checked: its text, its lines and its ast.Module."""

    code: str
    lines: tuple
    tree: ast.Module


def parse(code):
    """The snippet as a Program, or Unreadable: every limit checked before the parser sees the text."""
    if not isinstance(code, str):
        raise Unreadable(0, f"the code must be text, got {type(code).__name__}")
    if len(code) > MAX_CODE_CHARS:
        raise Unreadable(0, f"{len(code):,} characters: the reader reads at most {MAX_CODE_CHARS:,} "
                            "(MAX_CODE_CHARS)")
    code = code.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
    lines = code.split("\n")
    if len(lines) > MAX_CODE_LINES:
        raise Unreadable(0, f"{len(lines):,} lines: the reader reads at most {MAX_CODE_LINES} (MAX_CODE_LINES)")
    _check_brackets(lines)
    try:
        tree = ast.parse(code, mode="exec")  # ast only: nothing is compiled to run
    except SyntaxError as e:
        raise Unreadable(e.lineno or 0, f"Python cannot parse it: {e.msg}") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise Unreadable(0, f"Python cannot parse it ({type(e).__name__})") from None
    _check_tree(tree)
    return Program(code, tuple(lines), tree)


def _check_brackets(lines):
    """Refuse brackets nested deeper than MAX_BRACKETS (a linear scan, so that the parser never recurses deep)."""
    depth = 0
    quote = None
    for number, text in enumerate(lines, 1):
        for ch in text:
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch in "([{":
                depth += 1
                if depth > MAX_BRACKETS:
                    raise Unreadable(number, f"brackets nested more than {MAX_BRACKETS} deep (MAX_BRACKETS)")
            elif ch in ")]}":
                depth = max(depth - 1, 0)
        quote = None  # a string ends with its line (a triple-quoted one may count more brackets: stricter, not looser)


def _check_tree(tree):
    """Walk the tree (iteratively) once: its size, its depth, and every node the reader never reads."""
    stack = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        line = getattr(node, "lineno", 0)
        if count > MAX_AST_NODES:
            raise Unreadable(line, f"more than {MAX_AST_NODES:,} parts of code (MAX_AST_NODES)")
        if depth > MAX_AST_DEPTH:
            raise Unreadable(line, f"code nested more than {MAX_AST_DEPTH} deep (MAX_AST_DEPTH)")
        _check_node(node, line)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_node(node, line):
    """Refuse one node the reader never reads, with its line and what it is."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        _check_import(node, line)
    elif isinstance(node, ast.Name) and node.id.startswith("_"):
        raise Unreadable(line, f"the name {node.id!r}: names that start with _ are not read")
    elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise Unreadable(line, f"the attribute .{node.attr}: attributes that start with _ are not read")
    elif isinstance(node, ast.FunctionDef):
        if node.decorator_list:
            raise Unreadable(line, "a decorator")
        a = node.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
            raise Unreadable(line, f"def {node.name}: only plain parameters (with defaults) are read")
        if node.name.startswith("_"):
            raise Unreadable(line, f"the name {node.name!r}: names that start with _ are not read")
    elif isinstance(node, ast.arg) and node.arg.startswith("_"):
        raise Unreadable(line, f"the name {node.arg!r}: names that start with _ are not read")
    elif isinstance(node, ast.keyword) and (node.arg is None or node.arg.startswith("_")):
        raise Unreadable(line, "**keyword arguments" if node.arg is None else f"the keyword {node.arg!r}")
    elif not isinstance(node, STATEMENTS + EXPRESSIONS + CONTEXTS):
        raise Unreadable(line, f"{WORDS.get(type(node), type(node).__name__)} is not read")


def _check_import(node, line):
    """An import of the vocabulary's modules is read (never run); any other module is refused."""
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level or module not in MODULES:
            raise Unreadable(line, f"from {'.' * node.level}{module} import ...: only "
                                   f"{', '.join(MODULES)} are read")
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if alias.name == "*" or (full not in MODULES and module not in ("torch", "math", "statistics",
                                                                                 "torch.nn", "numpy")):
                raise Unreadable(line, f"from {module} import {alias.name}: not read")
        return
    for alias in node.names:
        if alias.name not in MODULES:
            raise Unreadable(line, f"import {alias.name}: only {', '.join(MODULES)} are read")
