"""How tests/data/tiny_deit_int8.tflite and tiny_deit_float.tflite were made (tests/test_import_tflite_hybrid.py
reads them; the suite and CI cannot run this: it needs the `litert` extra, litert-torch and ai-edge-quantizer).

    python tests/data/make_hybrid_tflite.py tests/data

mobcost's own export of tests/data/tiny_deit.yaml (two DeiT blocks of 64 channels at 32×32): its torch build
(weights from a fixed seed) converted by litert-torch, float (``--runtime litert``) and static int8 (``--int8``:
ai-edge-quantizer, random calibration inputs). The LayerNorms' γ = 1 and β = 0 of a fresh build leave no
operator in the file; every other weight is stored.
"""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(out: str) -> None:
    spec = os.path.join(HERE, "tiny_deit.yaml")
    for suffix, flags in (("int8", ["--int8"]), ("float", ["--runtime", "litert"])):
        target = os.path.join(out, f"tiny_deit_{suffix}.tflite")
        subprocess.run([sys.executable, "-m", "mobcost", "export", spec, *flags, "-o", target], check=True)


if __name__ == "__main__":
    main(sys.argv[1])
