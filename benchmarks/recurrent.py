"""Forward + backward time of seqlab's recurrent layers against torch.nn, measured in one run.

    python benchmarks/recurrent.py                 # the issue's two shapes, LSTM and GRU
    python benchmarks/recurrent.py --quick         # fewer repeats, no torch.compile
    python benchmarks/recurrent.py --device cuda   # the same table on a GPU

Prints ms per iteration (one forward and one backward over a (T, B, F) batch) for
seqlab scratch (eager), seqlab scratch under torch.compile (its compile time reported
apart), seqlab fused, and torch.nn, and each one's ratio to torch.nn (lower is faster).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from dataclasses import dataclass

import torch

import seqlab.nn as snn


@dataclass
class Shape:
    steps: int
    batch: int
    input: int
    hidden: int

    def __str__(self) -> str:
        return f"T={self.steps} B={self.batch} I={self.input} H={self.hidden}"


SHAPES = [Shape(100, 32, 64, 512), Shape(100, 8, 256, 1024)]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_step(module, x):
    def step():
        module.zero_grad(set_to_none=True)
        output, _ = module(x)
        output.sum().backward()

    return step


def time_interleaved(steps: dict, device, repeats: int) -> dict[str, float]:
    """Median milliseconds of each step function, measured in rounds that take every variant
    once, in a rotating order, so drift over the run (or going first) favours none of them."""
    for step in steps.values():  # warm-up: allocator, caches, oneDNN's primitives
        step()
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[: round_ % len(names)]:
            synchronize(device)
            start = time.perf_counter()
            steps[name]()
            synchronize(device)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def bench_shape(kind: str, shape: Shape, device, repeats: int, compile_: bool):
    """{variant: (ms per iteration, compile seconds or None)} for one layer kind and shape."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, kind)(shape.input, shape.hidden).to(device)
    variants = {
        "torch.nn": reference,
        "seqlab fused": getattr(snn, kind)(shape.input, shape.hidden, backend="fused").to(device),
        "seqlab scratch": getattr(snn, kind)(shape.input, shape.hidden).to(device),
    }
    for module in variants.values():
        module.load_state_dict(reference.state_dict())
    x = torch.randn(shape.steps, shape.batch, shape.input, device=device)
    steps = {name: make_step(module, x) for name, module in variants.items()}

    compile_seconds = None
    if compile_:
        module = getattr(snn, kind)(shape.input, shape.hidden).to(device)
        module.load_state_dict(reference.state_dict())
        step = make_step(torch.compile(module), x)
        start = time.perf_counter()
        step()  # the first call compiles forward and backward
        synchronize(device)
        compile_seconds = time.perf_counter() - start
        steps["seqlab scratch compiled"] = step
    medians = time_interleaved(steps, device, repeats)
    return {name: (ms, compile_seconds if name.endswith("compiled") else None) for name, ms in medians.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--kinds", nargs="+", default=["LSTM", "GRU"], choices=["RNN", "LSTM", "GRU"])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 repeats, no torch.compile")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    repeats = 3 if args.quick else args.repeats
    compile_ = not (args.quick or args.no_compile)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# seqlab recurrent benchmark: torch {torch.__version__}, device {device} ({name}), "
          f"{torch.get_num_threads()} CPU threads, python {sys.version.split()[0]}")
    print(f"# forward + backward, median of {repeats} interleaved rounds, ms per iteration; ratio = time / torch.nn time")
    print(f"| layer | shape | variant | ms/iter | ratio to torch.nn | compile s |")
    print(f"|---|---|---|---:|---:|---:|")
    for kind in args.kinds:
        for shape in SHAPES:
            rows = bench_shape(kind, shape, device, repeats, compile_)
            base = rows["torch.nn"][0]
            for variant, (ms, compile_seconds) in rows.items():
                compiled = f"{compile_seconds:.1f}" if compile_seconds is not None else ""
                print(f"| {kind} | {shape} | {variant} | {ms:.1f} | {ms / base:.2f} | {compiled} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
