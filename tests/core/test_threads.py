"""lnorm_core.threads: small work on one of torch's threads, for the calling thread alone.

The property that matters on a shared server: inside one_thread() torch splits no loop in this thread,
every other thread keeps its own count, the count comes back after the block, and the numbers do not
change (torch.nn.functional computed inside and outside the block, bit for bit).
"""

import threading

import torch
import torch.nn.functional as F

from lnorm_core.threads import SMALL_WORK, one_thread, threads_for


def test_one_thread_is_for_the_calling_thread_only_and_the_block_only():
    before = torch.get_num_threads()
    inside, ready, done = [], threading.Event(), threading.Event()

    def other():
        ready.wait(30)
        inside.append(torch.get_num_threads())  # read while the main thread is inside the block
        done.set()

    worker = threading.Thread(target=other)
    worker.start()
    other_before = None
    with one_thread():
        assert torch.get_num_threads() == 1
        ready.set()
        done.wait(30)
        other_before = inside[0]
    worker.join(30)
    assert torch.get_num_threads() == before
    assert other_before == torch.get_num_threads()  # the other thread kept torch's own count


def test_numbers_inside_the_block_are_torchs_own_bit_for_bit():
    x = torch.randn(64, 48, generator=torch.Generator().manual_seed(3), dtype=torch.float64, requires_grad=True)
    y_out = F.layer_norm(x, (48,))
    (g_out,) = torch.autograd.grad(y_out.square().sum(), x)
    with one_thread():
        y_in = F.layer_norm(x, (48,))
        (g_in,) = torch.autograd.grad(y_in.square().sum(), x)
    assert torch.equal(y_in, y_out) and torch.equal(g_in, g_out)


def test_only_small_work_is_kept_to_one_thread():
    before = torch.get_num_threads()
    with threads_for(SMALL_WORK):
        assert torch.get_num_threads() == 1
    with threads_for(SMALL_WORK + 1):
        assert torch.get_num_threads() == before
    with threads_for(None):
        assert torch.get_num_threads() == before
