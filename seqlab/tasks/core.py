"""`seqlab core check`: seqlab's layers against torch.nn, on the spot, as a table."""

from __future__ import annotations

import torch

import seqlab.nn as snn
from seqlab.tasks.frame import bounded_int, seed

# Upper limits: the check is a few layers over a short sequence; past these a value is a
# typo that would only make the check slow (every run is float64, in both backends).
MAX_LAYERS = 16
MAX_STEPS = 10_000


CHECK_HELP = "compare seqlab's scratch and fused layers with torch.nn (outputs and gradients)"


def add_commands(verbs) -> None:
    check = verbs.add_parser("check", help=CHECK_HELP, description=(
        "Run seqlab's RNN, LSTM and GRU (scratch and fused backends) and torch.nn's on the same "
        "weights and random input, and print the largest differences."))
    check.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    check.add_argument("--layers", type=bounded_int(1, MAX_LAYERS), default=2, help=f"up to {MAX_LAYERS} (default: 2)")
    check.add_argument("--steps", type=bounded_int(1, MAX_STEPS), default=50,
                       help=f"sequence length T, up to {MAX_STEPS:,} (default: 50)")
    check.add_argument("--seed", type=seed, default=0)
    check.set_defaults(run=run_check)


def run_check(args) -> int:
    dtype = getattr(torch, args.dtype)
    tolerance = 1e-10 if dtype == torch.float64 else 1e-5
    print(f"{'layer':<6} {'backend':<8} {'output':>10} {'state':>10} {'gradients':>10}")
    worst = 0.0
    for kind in ("RNN", "LSTM", "GRU"):
        torch.manual_seed(args.seed)
        reference = getattr(torch.nn, kind)(16, 32, args.layers, bidirectional=True, dtype=dtype)
        x = torch.randn(args.steps, 8, 16, dtype=dtype)
        expected = _forward_backward(reference, x)
        for backend in ("scratch", "fused"):
            ours = getattr(snn, kind)(16, 32, args.layers, bidirectional=True, dtype=dtype, backend=backend)
            ours.load_state_dict(reference.state_dict())
            got = _forward_backward(ours, x)
            diffs = [max((a - b).abs().max().item() for a, b in zip(g, e)) for g, e in zip(got, expected)]
            worst = max(worst, *diffs)
            print(f"{kind:<6} {backend:<8} " + " ".join(f"{d:>10.2e}" for d in diffs))
    verdict = "agree" if worst <= tolerance else "DISAGREE"
    print(f"seqlab and torch.nn {verdict} (largest difference {worst:.2e}, tolerance {tolerance:g})")
    return 0 if worst <= tolerance else 1


def _forward_backward(module, x):
    output, state = module(x)
    states = list(state) if isinstance(state, tuple) else [state]
    (output.sum() + sum(s.sum() for s in states)).backward()
    return [output], states, [p.grad for p in module.parameters()]
