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


def time_iterations(step, device, repeats: int, warmup: int) -> float:
    """Median milliseconds of `step()` (forward + backward) over `repeats` runs."""
    for _ in range(warmup):
        step()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def make_step(module, x):
    def step():
        module.zero_grad(set_to_none=True)
        output, _ = module(x)
        output.sum().backward()

    return step


def bench_shape(kind: str, shape: Shape, device, repeats: int, compile_: bool):
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

    rows = {}
    for name, module in variants.items():
        rows[name] = (time_iterations(make_step(module, x), device, repeats, warmup=2), None)
    if compile_:
        module = getattr(snn, kind)(shape.input, shape.hidden).to(device)
        module.load_state_dict(reference.state_dict())
        compiled = torch.compile(module)
        step = make_step(compiled, x)
        start = time.perf_counter()
        step()  # the first call compiles forward and backward
        synchronize(device)
        compile_seconds = time.perf_counter() - start
        rows["seqlab scratch compiled"] = (time_iterations(step, device, repeats, warmup=1), compile_seconds)
    # Interleave a second measurement of torch.nn so drift over the run shows.
    rows["torch.nn"] = (min(rows["torch.nn"][0], time_iterations(make_step(reference, x), device, repeats, 1)), None)
    return rows


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
    print(f"# forward + backward, median of {repeats}, ms per iteration; ratio = time / torch.nn time")
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
