"""One prepared run on a lent GPU machine: CUDA parity tests, the recurrent benchmark, and
music models trained side by side, all inside a fixed wall-clock budget.

    python benchmarks/gpu_session.py --out DIR --corpora .gpu/corpora --budget 540

A GPU session is short (minutes, start-up included) and cannot be rerun at will, so this
script does everything in one go, in order of importance, and keeps to its budget: every
step has a time limit, the training runs get what is left, and whatever finished is in DIR
when the budget ends. The music variants (VARIANTS below) run as plain `seqlab music train`
commands (`--max-minutes` ends them in time), each pretraining on more folk corpora, then
fine-tuning on irish.abc's training tunes, then exported (float16) to DIR/<variant>/.
DIR/session.log gets the summary; DIR/logs.tar.gz every command's full output.

--corpora is a folder holding music21's oneills1850, ryansMammoth and airdsAirs folders (the
GPU machine has no music21: copy them there beside the repository).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (model options, pretraining options, fine-tuning options)
VARIANTS: dict[str, tuple[list[str], list[str], list[str]]] = {
    # The shipped model's shape (2x512), with transposition augmentation in both stages.
    "aug": (
        ["--hidden-size", "512", "--num-layers", "2"],
        ["--transpose", "2"],
        ["--transpose", "2"],
    ),
    # Deeper at the same size on disk (3x480 in float16: 9.6 MB <= 12 MB).
    "aug3": (
        ["--hidden-size", "480", "--num-layers", "3"],
        ["--transpose", "2"],
        ["--transpose", "2"],
    ),
    # The control: the same recipe without transposition.
    "plain": (["--hidden-size", "512", "--num-layers", "2"], [], []),
}


class Session:
    def __init__(self, out: Path, budget: float) -> None:
        self.out = out
        self.began = time.monotonic()
        self.budget = budget
        self.logs = Path("/tmp/gpu_session_logs")
        self.logs.mkdir(parents=True, exist_ok=True)
        self.summary = open(out / "session.log", "a", buffering=1)
        self.failed: list[str] = []  # runs that exited non-zero or ran past their limit

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.began)

    def say(self, text: str) -> None:
        line = f"[{time.monotonic() - self.began:6.1f}s] {text}"
        print(line, flush=True)
        self.summary.write(line + "\n")

    def start(self, name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        self.say(f"start {name}: {' '.join(command)}")
        return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                # the benchmarks import seqlab from the checkout, not an install
                                env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})

    def wait(self, name: str, process: subprocess.Popen, limit: float) -> int | None:
        try:
            code = process.wait(timeout=max(1.0, limit))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        self.say(f"end {name}: exit {code}" + (" (killed at its time limit)" if code is None else ""))
        if code != 0:
            self.failed.append(name)
        return code

    def run(self, name: str, command: list[str], limit: float, tail: int = 40) -> int | None:
        code = self.wait(name, self.start(name, command), min(limit, self.left()))
        lines = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()
        for line in lines[-tail:]:
            self.summary.write(f"    {line}\n")
        return code

    def close(self) -> None:
        with tarfile.open(self.out / "logs.tar.gz", "w:gz") as archive:
            archive.add(self.logs, arcname="logs")
        self.summary.close()


def seqlab(*args: str) -> list[str]:
    return [sys.executable, "-m", "seqlab", *args]


def evaluations(log: Path) -> list[str]:
    """The held-out evaluations and the closing line of a training log."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    return re.findall(r"(step \d+: val_bits_per_char [\d.]+(?: \(best\))?|done: .*|seqlab music train: .*|error: .*)", text)


def model_options(model: list[str], smoke: bool) -> list[str]:
    """A variant's model options; with --smoke, 32 units instead (the layer count stays)."""
    return ["--hidden-size", "32", *model[2:]] if smoke else model


def train_variants(session: Session, corpora: Path, device: str, finetune_minutes: float, smoke: bool) -> None:
    extra = ",".join(str(corpora / name) for name in ("oneills1850", "ryansMammoth", "airdsAirs"))
    runs = Path("/tmp/gpu_session_runs")
    batch = ["--batch-size", "8"] if smoke else ["--batch-size", "128"]
    common = ["--device", device, *batch, "--eval-every", "250", "--dropout", "0.4"]
    # Pretraining gets what is left after fine-tuning, export and a margin for start-up.
    pre_minutes = (session.left() - 60 * finetune_minutes - 75) / 60
    if pre_minutes < 1:
        session.say(f"only {session.left():.0f} s left: no training")
        return
    env = {"OMP_NUM_THREADS": "4"}
    stage = {}
    for name, (model, pre, _) in VARIANTS.items():
        model = model_options(model, smoke)
        stage[name] = session.start(
            f"{name}-pre",
            seqlab("music", "train", "--out", str(runs / f"{name}-pre"), *model, *common, *pre,
                   "--extra-data", extra, "--steps", "1000000", "--lr", "2e-3", "--lr-schedule", "constant",
                   "--max-minutes", f"{pre_minutes:.2f}"),
            env,
        )
    for name, process in stage.items():
        session.wait(f"{name}-pre", process, session.left() - 60 * finetune_minutes - 20)
    ft_minutes = max(0.5, min(finetune_minutes, (session.left() - 45) / 60))
    finetunes = {}
    for name, (model, _, ft) in VARIANTS.items():
        model = model_options(model, smoke)
        best = runs / f"{name}-pre" / "best"
        if not (best / "model.safetensors").is_file():
            session.say(f"{name}: no pretrained checkpoint, no fine-tuning")
            continue
        finetunes[name] = session.start(
            f"{name}-ft",
            seqlab("music", "train", "--out", str(runs / f"{name}-ft"), "--init-from", str(best), *model,
                   "--device", device, "--batch-size", "8" if smoke else "64", "--eval-every", "50", "--dropout", "0.4", *ft,
                   "--steps", "1200", "--lr", "1e-3", "--lr-schedule", "cosine", "--max-minutes", f"{ft_minutes:.2f}"),
            env,
        )
    for name, process in finetunes.items():
        session.wait(f"{name}-ft", process, session.left() - 25)
    for name in VARIANTS:
        for stage_name in ("pre", "ft"):
            for line in evaluations(session.logs / f"{name}-{stage_name}.log"):
                session.summary.write(f"    {name}-{stage_name}: {line}\n")
        for stage_name in ("ft", "pre"):  # export the fine-tuned model, or else the pretrained one
            best = runs / f"{name}-{stage_name}" / "best"
            if (best / "model.safetensors").is_file():
                session.run(f"{name}-export", seqlab("music", "export", "--checkpoint", str(best), "--out", str(session.out / name)), 30, tail=3)
                break


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--corpora", required=True, type=Path)
    parser.add_argument("--budget", type=float, default=540, help="seconds for everything (default 540)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--finetune-minutes", type=float, default=1.5)
    parser.add_argument("--skip-checks", action="store_true", help="train only (no tests, no benchmark)")
    parser.add_argument("--checks-only", action="store_true", help="tests and benchmark, no training")
    parser.add_argument("--smoke", action="store_true", help="32-unit models, small batches: check the script on a CPU")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    session = Session(args.out, args.budget)
    try:
        session.run("env", [sys.executable, "-c", (
            "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', "
            "torch.backends.cudnn.version()); print(torch.cuda.get_device_name() if torch.cuda.is_available() else 'no cuda')")], 60)
        if not args.skip_checks:
            session.run("test_cuda", [sys.executable, "-m", "pytest", "tests/nn/test_cuda.py", "-q", "-p", "no:cacheprovider"], 120, tail=15)
            session.run("bench_recurrent", [sys.executable, "benchmarks/recurrent.py", "--device", args.device, "--quick"], 120)
        if not args.checks_only:
            train_variants(session, args.corpora, args.device, args.finetune_minutes, args.smoke)
    finally:
        session.say(f"session over, {session.left():.0f} s of the budget left"
                    + (f"; FAILED: {', '.join(session.failed)}" if session.failed else "; every run passed"))
        session.close()
    # A session whose runs failed must not look like a good one to whoever called it.
    return 1 if session.failed else 0


if __name__ == "__main__":
    sys.exit(main())
