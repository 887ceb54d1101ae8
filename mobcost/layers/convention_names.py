"""The counting conventions' names alone, for the command line's choices: the rules themselves
(:mod:`.conventions`) load only when a convention is used, so `mobcost table` starts without them."""

CONVENTION_NAMES = ("paper", "flops", "seed", "no-products", "fvcore", "flop-counter", "ptflops-pytorch",
                    "ptflops-aten", "thop", "torchinfo", "onnx-tool")
