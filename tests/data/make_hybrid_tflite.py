"""How tests/data/tiny_deit_{int8,float}.tflite, tiny_mobilevit_int8.tflite and tiny_mnv4_hybrid_int8.tflite were made
(tests/test_import_tflite_hybrid.py reads them; the suite and CI cannot run this: it needs the `litert` extra,
litert-torch and ai-edge-quantizer).

    python tests/data/make_hybrid_tflite.py tests/data

mobcost's own export of tests/data/tiny_deit.yaml (two DeiT blocks of 64 channels at 32×32) and
tiny_mobilevit.yaml (one MobileViT block of 48 channels at 32×32) and tiny_mnv4_hybrid.yaml (MobileNetV4's
multi-query attention block on an 8×8 map): the torch build
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
    for name, suffix, flags in (("tiny_deit", "int8", ["--int8"]), ("tiny_deit", "float", ["--runtime", "litert"]),
                                ("tiny_mobilevit", "int8", ["--int8"]), ("tiny_mnv4_hybrid", "int8", ["--int8"])):
        spec, target = os.path.join(HERE, f"{name}.yaml"), os.path.join(out, f"{name}_{suffix}.tflite")
        subprocess.run([sys.executable, "-m", "mobcost", "export", spec, *flags, "-o", target], check=True)


if __name__ == "__main__":
    main(sys.argv[1])
