"""The devices a run can time, the dtypes it times on each, and what a report says about a device.

`available_devices` is lnorm_core.reference's, the one copy: the Compare page and the harness
ask the same question ("which devices does torch see here?") and must get the same answer.
"""

import datetime
import os
import platform

import torch

from ..dtypes import dtype_info, torch_dtype
from ..reference import available_devices

__all__ = ["DATASHEET_GBPS", "DEVICE_DTYPES", "DEVICE_TYPES", "DTYPES", "available_devices", "datasheet_gbps",
           "device_info", "itemsize"]

DEVICE_TYPES = ("cpu", "cuda", "mps")
# The dtypes a run times (lnorm_core.dtypes has their rows): the CPU float32 only, an accelerator
# the three it trains in.
DTYPES = {name: torch_dtype(name) for name in ("float32", "bfloat16", "float16")}
DEVICE_DTYPES = {"cpu": ("float32",), "cuda": tuple(DTYPES), "mps": tuple(DTYPES)}

# Datasheet peak memory bandwidth (GB/s), matched on torch.cuda.get_device_name().
# Each entry: (substrings that must all appear, case-insensitive, GB/s); the first match wins.
# The GPUs of the published measurements (lnorm_core/timing/gpu_data/) are here with the same peaks as that file,
# so a report from one of them and the published rows are held against one number.
DATASHEET_GBPS = (
    (("H200",), 4800.0),
    (("B200",), 8000.0),
    (("H100", "NVL"), 3900.0),
    (("H100", "PCIE"), 2000.0),
    (("H100", "SXM"), 3350.0),
    (("H100", "HBM3"), 3350.0),  # the SXM part names itself "NVIDIA H100 80GB HBM3"
    (("A100", "80GB", "PCIE"), 1935.0),
    (("A100", "SXM4", "80GB"), 2039.0),  # "NVIDIA A100-SXM4-80GB"; the 40 GB parts have 1555
)


def itemsize(dtype):
    """Bytes per element of a dtype name from DTYPES: 4 for float32, 2 for bfloat16 and float16."""
    return dtype_info(dtype).itemsize


def datasheet_gbps(device_name):
    """The datasheet peak memory bandwidth (GB/s) of a GPU by its name, or None where unknown."""
    name = str(device_name).upper()
    for needles, gbps in DATASHEET_GBPS:
        if all(n in name for n in needles):
            return gbps
    return None


def _cpu_name():
    """The CPU model (from /proc/cpuinfo on Linux), never the host name."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def device_info(device):
    """What a report says about a device: name, type, torch_version, num_threads, date; no host name."""
    if device == "cuda":
        name = torch.cuda.get_device_name()
    elif device == "mps":
        name = f"Apple MPS ({platform.machine()})"
    else:
        name = _cpu_name()
    return {
        "name": name,
        "type": device,
        "torch_version": torch.__version__,
        "num_threads": torch.get_num_threads(),  # intra-op threads torch uses on the CPU
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "datasheet_gbps": datasheet_gbps(name) if device == "cuda" else None,
        # other work on the machine when the run began: on a busy CPU, OpenMP threads wait for a
        # time slice and a norm can take milliseconds instead of microseconds
        "load_avg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
