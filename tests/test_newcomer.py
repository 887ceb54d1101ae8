"""Issue 20's newcomer defects in the views: each test fails on the defect it names. Expected figures come
from arithmetic in the comments (MobileNetV1 at α = 1, 224×224, as Table 1 lists it), never from mobcost."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mobcost.cli import app


def invoke(*args: str, width: int = 100) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.stdout


# --- 3. --bn-in-params: the BN count is inside the params, not added to them ----------------------------------


def test_bn_in_params_caption_says_including() -> None:
    # A BN after each of the 27 convs, γ and β per output channel: 2 · (32 + 32 + 64 + 64 + 4·128 + 4·256 + 12·512
    # + 3·1024) = 2 · 10,944 = 21,888; Table 1's 4,210,088 params + 21,888 = 4,231,976
    text = " ".join(invoke("table", "--bn-in-params", "-s", "types", width=200).split())
    assert "4,231,976 params (including 21,888 BN)" in text
    assert "(+21,888 BN)" not in text
    plain = " ".join(invoke("table", "-s", "types", width=200).split())
    assert "4,210,088 params (+21,888 BN)" in plain  # without the option, BN is beside the params


# --- 12. --no-first-layer leaves the whole first layer out, memory access included ----------------------------


def test_no_first_layer_leaves_its_memory_access_out() -> None:
    full = json.loads(invoke("table", "-f", "json"))
    skip = json.loads(invoke("table", "-f", "json", "--no-first-layer"))
    # conv1 (3×3×3×32, stride 2 on 224×224×3): input 3·224² = 150,528, output 32·112² = 401,408, weights 864;
    # 150,528 + 401,408 + 864 = 552,800 elements leave with it
    assert full["totals"]["memory_access"] - skip["totals"]["memory_access"] == 552_800
    assert skip["layers"][0]["memory_access"] == 0
    assert skip["totals"]["memory_access_bytes"] == 4 * skip["totals"]["memory_access"]
