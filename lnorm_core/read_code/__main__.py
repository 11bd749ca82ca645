"""python -m lnorm_core.read_code snippet.py --shape 2,3,4 --layer "LayerNorm(4)": the reading in a terminal.

Prints the verdict, each mistake with its line and fix, what lnorm read on each line, and what the code computes
beside torch's answer. The snippet is read, never run. Exit status 0 for correct, 1 for mistakes, 2 for unreadable.
"""

import argparse
import re
import sys

import numpy as np

from ..errors import InputError
from ..parse import parse_shape, parse_tensor
from ..spec import NormSpec
from .layers import layer_name
from .limits import MAX_CODE_CHARS
from .reading import ALL_MISTAKES, read_code

LAYER = re.compile(r"^\s*(LayerNorm|RMSNorm|GroupNorm|BatchNorm|InstanceNorm)\s*(?:\((.*)\))?\s*$")


def parse_layer(text):
    """'LayerNorm(4)', 'LayerNorm((3, 4), eps=1e-6)', 'GroupNorm(2)', 'BatchNorm', 'RMSNorm(8)' as a NormSpec."""
    m = LAYER.match(text or "")
    if not m:
        raise InputError(f"--layer {text!r}: write e.g. LayerNorm(4), LayerNorm((3, 4)), RMSNorm(8), GroupNorm(2), "
                         "BatchNorm or InstanceNorm, with eps=... after a comma")
    name, inner = m.group(1), (m.group(2) or "").strip()
    eps = None
    e = re.search(r",?\s*eps\s*=\s*([^,()]+)\s*$", inner)
    if e:
        eps = float(e.group(1))
        inner = inner[:e.start()].strip().rstrip(",")
    kind = {"LayerNorm": "layer", "RMSNorm": "rms", "GroupNorm": "group", "BatchNorm": "batch",
            "InstanceNorm": "instance"}[name]
    if kind in ("layer", "rms"):
        return NormSpec(kind, normalized_shape=parse_shape(inner.strip("()[] ,") or "0"), eps=eps)
    if kind == "group":
        return NormSpec(kind, num_groups=int(inner.split(",")[0]), eps=eps)
    return NormSpec(kind, eps=eps)


def report(r):
    """The reading as lines of text."""
    out = [f"verdict: {r.verdict}"]
    if r.spec is not None:
        shape = r.x.shape
        out.append(f"compared with: {layer_name(r.spec, shape)}"
                   + (f" (the code builds {layer_name(r.code_spec, shape)})" if r.code_spec and r.code_spec != r.spec
                      else ""))
    if r.where:
        out.append(f"the output covers: {r.where}")
    for m in r.mistakes:
        mis = ALL_MISTAKES[m]
        out.append(f"line {r.line(m)}: {m}: {mis.title}: {mis.description}")
        out.append(f"    fix: {mis.fix}")
    if r.error:
        out.append(f"line {r.error[0]}: the run fails: {r.error[1]}")
    for line, what in r.problems:
        out.append(f"line {line}: cannot read: {what}" if line else f"cannot read: {what}")
    if r.notes:
        out.append("what lnorm read:")
        out += [f"  {n}" for n in r.notes]
    if r.value is not None and r.right is not None:
        with np.printoptions(precision=4, suppress=True, threshold=48, edgeitems=3):
            out.append(f"the code computes:\n{np.asarray(r.value)}")
            out.append(f"torch computes:\n{np.asarray(r.right)}")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m lnorm_core.read_code", description=__doc__.split("\n\n")[0])
    p.add_argument("snippet", help="a .py file (or - for standard input): read, never run")
    p.add_argument("--shape", help="the shape of the code's input, e.g. 2,3,4 (x = torch.manual_seed(0); "
                                   "torch.randn(*shape))")
    p.add_argument("--tensor", help="a file with the tensor the input stands for, as torch printed it")
    p.add_argument("--layer", help='the layer to compare with, e.g. "LayerNorm(4)"; default: the one the code builds')
    args = p.parse_args(argv)
    try:
        if args.snippet == "-":
            code = sys.stdin.read(MAX_CODE_CHARS + 1)
        else:
            with open(args.snippet, encoding="utf-8") as f:
                code = f.read(MAX_CODE_CHARS + 1)
        spec = parse_layer(args.layer) if args.layer else None
        x = None
        if args.tensor:
            with open(args.tensor, encoding="utf-8") as f:
                x = parse_tensor(f.read())
        shape = parse_shape(args.shape) if args.shape else None
        r = read_code(code, spec, x=x, shape=shape)
    except (InputError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report(r))
    return {"correct": 0, "mistakes": 1}.get(r.verdict, 2)


if __name__ == "__main__":
    sys.exit(main())
