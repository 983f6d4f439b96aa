"""``make test-avx2`` holds every library to AVX2 kernels (the Makefile's AVX2_ONLY), so that an AVX-512 machine
can run the suite on the code paths of an AVX2-only CPU: the environment it sets makes torch dispatch to its
AVX2 kernels and numba generate code for an AVX2 CPU."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def avx2_only() -> dict[str, str]:
    """The variables of the Makefile's AVX2_ONLY."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    line = re.search(r"^AVX2_ONLY := (.*)$", text, re.M).group(1)
    return dict(word.split("=", 1) for word in shlex.split(line))


@pytest.mark.skipif(torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"), reason="needs an AVX2 CPU")
def test_the_avx2_environment_selects_avx2_kernels():
    env = avx2_only()
    assert {"ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "NUMBA_CPU_NAME"} <= set(env)
    code = "import torch, numba; print(torch.backends.cpu.get_cpu_capability(), numba.config.CPU_NAME)"
    out = subprocess.run([sys.executable, "-c", code], env=os.environ | env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["AVX2", env["NUMBA_CPU_NAME"]]
