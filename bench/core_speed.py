"""The float64 manual core next to torch's native kernel, for each kind at a few sizes.

    python bench/core_speed.py

The core (lnorm_core.manual_forward, numpy, two passes) is the truth, not the fast
path; this prints how far it is from torch.nn.functional in the same dtype
(float64), both timed side by side in one run, median of repeats, and shows the
budget of the core issue: a forward at 2**20 elements well under a second. torch is
called through lc.torch_forward, as the pages call it: its copy in and out is counted.
"""

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: the repo's lnorm_core
import lnorm_core as lc  # noqa: E402

SIZES = (2**12, 2**16, 2**20)
REPEATS = 7


def spec_and_shape(kind, numel):
    """A spec and a shape of numel elements: (rows, 1024) for layer/rms, (N, 64, H, W) otherwise."""
    if lc.KIND_TABLE[kind].trailing:
        return lc.NormSpec(kind, normalized_shape=(1024,), eps=1e-5), (numel // 1024, 1024)
    n, c = 8, 64
    hw = numel // (n * c)
    h = 2 ** (hw.bit_length() // 2)
    shape = (n, c, h, hw // h)
    return lc.NormSpec.for_kind(kind, num_groups=8), shape


def median_seconds(fn):
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads; median of {REPEATS} runs; float64 both")
    print(f"{'kind':<9} {'elements':>9} {'shape':<18} {'core ms':>9} {'torch ms':>9} {'core/torch':>10}")
    for kind in lc.KINDS:
        for numel in SIZES:
            spec, shape = spec_and_shape(kind, numel)
            x = lc.seeded_tensor(shape, 0)
            xt = torch.from_numpy(x)
            core = median_seconds(lambda: lc.manual_forward(spec, x))
            native = median_seconds(lambda: lc.torch_forward(spec, xt))
            print(f"{kind:<9} {numel:>9,} {str(shape):<18} {core * 1e3:>9.2f} {native * 1e3:>9.2f} "
                  f"{core / native:>9.1f}x")


if __name__ == "__main__":
    main()
