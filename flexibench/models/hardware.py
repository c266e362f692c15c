"""What the processor a run lands on is, and whether it computes bfloat16 natively.

A bf16 recipe (forward pass under bfloat16 autocast) is 1.4-1.9x faster than fp32 on a CPU with
AVX512-BF16 or AMX, the Xeons the long-fidelity recipes were measured on. On a CPU without
them PyTorch emulates bfloat16 matrix multiplies: on an AMD EPYC with AVX2 one 4096 x 256 x 1024
product ran at 1.0 GFLOP/s in bf16 against 83 in fp32, and a BERT-Mini pretraining step took
57 s instead of 1.6 s in fp32 (0.5 s in bf16 on the Xeon). A sweep started there would look
like it runs while finishing nothing, so the harness refuses it up front
(:func:`emulated_bf16_problem`), and every record names the processor it was measured on.
"""

from __future__ import annotations

import platform
from functools import cache

import torch


@cache
def cpu_model() -> str:
    """The processor's marketing name (``/proc/cpuinfo``'s ``model name``; ``platform`` elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices in hardware (CPU: AVX512-BF16 or AMX tiles)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return True  # other accelerators: their own business
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def emulated_bf16_problem(recipe_name: str, stages: list[str], device: torch.device) -> str | None:
    """Why running ``stages`` of a recipe in bf16 on ``device`` is a mistake, or None when it is not.

    ``stages`` are the parts of the recipe that run in bf16 ("pretraining", "fine-tuning");
    none, or a device with native bfloat16, is no problem.
    """
    if not stages or native_bf16(device):
        return None
    capability = torch.backends.cpu.get_cpu_capability() if device.type == "cpu" else device.type
    return (
        f"recipe {recipe_name} runs {' and '.join(stages)} in bf16, but this {device.type} ({cpu_model()}, "
        f"{capability}) has no native bfloat16 (AVX512-BF16 or AMX): PyTorch emulates it, tens of times slower "
        "than fp32. Run it on a CPU with AVX512-BF16 or AMX or on a GPU, or allow it explicitly "
        "(--allow-emulated-bf16) to run anyway"
    )
