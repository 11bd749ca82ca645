"""How the Timing page writes sizes, times, bytes and devices: one way everywhere, tables, legends and sentences."""

SHORT_DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def size_text(n):
    """A size as the page writes it: '4,096 (2^12)'."""
    return f"{n:,} (2^{int(n).bit_length() - 1})" if n > 0 and n & (n - 1) == 0 else f"{n:,}"


def power_text(n):
    """A power of two as the size slider (and its link) writes it: '2^12'."""
    return f"2^{int(n).bit_length() - 1}"


def time_text(t):
    """A time as the page writes it: '812 ns', '12.3 µs', '4.56 ms', '1.23 s'."""
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def us_text(t):
    """A time in microseconds, as a run's verdict writes it: '12.8 µs', '3,414 µs'."""
    us = t * 1e6
    return f"{us:,.0f} µs" if us >= 100 else f"{us:.3g} µs"


def bytes_text(n):
    """Bytes as the page writes them: '64 MiB', '1.5 GiB', '512 KiB'."""
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def count_text(n):
    """A large count in a few characters: '4.19M', '67.1M', '2.2G', '4,096'."""
    for scale, unit in ((1e9, "G"), (1e6, "M")):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:,}"


def short_device(name):
    """'H100 80GB HBM3' for 'NVIDIA H100 80GB HBM3', 'Intel Xeon Processor' for 'Intel(R) Xeon(R) Processor'."""
    return name.replace("NVIDIA ", "").replace("(R)", "").replace("(TM)", "").strip()


def short_dtype(dtype):
    """'bf16' for 'bfloat16', as a legend or a tensor's description says it."""
    return SHORT_DTYPES.get(dtype, dtype)


def shape_text(shape):
    """A shape as the GPU view and the costs view write it: '4096x1024'."""
    return "x".join(map(str, shape))
