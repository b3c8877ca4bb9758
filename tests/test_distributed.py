"""seqlab.train under torchrun: DDP on two gloo processes of this machine's CPU.

Starting a Python process with torch takes seconds, far more than these tiny trainings: so the
two processes (ranks) are started once for the module, the way torchrun would (its environment
variables), and run the scenarios of WORKER one after the other, each in a process group
of its own. The tests compare what they wrote with one process training on the whole batch.
The children have a timeout: a rank waiting forever for the other fails the tests instead of
hanging them.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from seqlab.checkpoint import load_checkpoint
from seqlab.data import Window
from seqlab.models import LanguageModel, LanguageModelConfig
from seqlab.train import TrainConfig, shard_batch, train

if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("this torch has no torch.distributed with the gloo backend", allow_module_level=True)

VOCAB = 11
BATCH = 4  # rows: 2 per rank
WINDOW = 5
REPO = Path(__file__).resolve().parents[1]

# One rank of a two-process run. The parent passes a folder and one port per scenario in
# argv, torchrun's variables (RANK, WORLD_SIZE, ...) in the environment.
WORKER = textwrap.dedent(
    """
    import json, math, os, sys
    import torch
    import torch.distributed as dist
    from tests.test_distributed import make_model, windows, stateful_loss, config
    from seqlab.train import TrainingDiverged, train

    folder, ports = sys.argv[1], dict(zip(("steps", "diverge", "resume"), sys.argv[2:]))
    rank = int(os.environ["RANK"])
    torch.set_num_threads(1)

    def report(scenario, content):
        with open(f"{folder}/{scenario}{rank}.json", "w") as file:
            json.dump(content, file)

    # Three steps; train() joins the process group itself, and leaves it.
    os.environ["MASTER_PORT"] = ports["steps"]
    model = make_model()
    result = train(model, windows(), stateful_loss, config(steps=3))
    torch.save(model.state_dict(), f"{folder}/steps{rank}.pt")
    report("steps", {"losses": [entry["loss"] for entry in result.history], "group_left": not dist.is_initialized()})

    # A NaN loss on rank 1 alone; the caller joined the group, so train() must leave it joined.
    os.environ["MASTER_PORT"] = ports["diverge"]
    dist.init_process_group("gloo")
    calls = 0

    def poisoned_loss(model, batch, state):
        global calls
        calls += 1
        loss, new_state, n = stateful_loss(model, batch, state)
        return (loss * math.nan if calls == 2 and rank == 1 else loss), new_state, n

    try:
        train(make_model(), windows(), poisoned_loss, config(steps=5))
        diverged = None
    except TrainingDiverged as error:
        diverged = str(error)
    report("diverge", {"diverged": diverged, "group_kept": dist.is_initialized()})

    # Rank 0 alone evaluates and watches the clock; every rank must stop where it says.
    evaluations = []
    scores = lambda model: evaluations.append(1) or {"val_loss": 3.0 - len(evaluations)}
    stopped = train(make_model(), windows(), stateful_loss, config(steps=6, eval_every=1, stop_at=1.0), scores)
    timed_out = train(make_model(), windows(), stateful_loss, config(steps=6, max_minutes=1e-9))
    report("agree", {
        "evaluations": len(evaluations),
        "stopped": [stopped.steps, stopped.stopped_early, stopped.metrics["val_loss"], stopped.best_metric],
        "timed_out": [timed_out.steps, timed_out.out_of_time],
    })
    dist.destroy_process_group()

    # 4 steps straight, and 2 steps then 2 resumed, with dropout.
    os.environ["MASTER_PORT"] = ports["resume"]
    dist.init_process_group("gloo")
    losses = {}
    for out, steps, resume in (("straight", 4, False), ("resumed", 2, False), ("resumed", 4, True)):
        model = make_model(seed=rank, dropout=0.3)  # DDP copies rank 0's weights
        evaluate = lambda model: {"val_loss": stateful_loss(model, next(windows()), None)[0].item()}
        settings = config(steps=steps, optimizer="adam", lr=1e-2, eval_every=2, out_dir=f"{folder}/{out}", resume=resume)
        result = train(model, windows(), stateful_loss, settings, evaluate, {"kind": "lm"})
        losses[out] = [entry["loss"] for entry in result.history]
        torch.save(model.state_dict(), f"{folder}/{out}{rank}.pt")
    report("resume", losses)
    dist.destroy_process_group()
    """
)


def make_model(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    model_config = LanguageModelConfig(
        vocab_size=VOCAB, embedding_size=8, hidden_size=16, num_layers=1, dropout=dropout, backend="fused"
    )
    return LanguageModel(model_config).double()  # float64: the comparisons are not blurred by rounding


def windows():
    """Consecutive windows of one stream of BATCH rows: the state carries across them. The
    stream is drawn from the global RNG, as a task may do: the ranks must all draw the same."""
    stream = torch.randint(0, VOCAB, (BATCH, 10 * WINDOW + 1))
    for start in range(0, 10 * WINDOW, WINDOW):
        chunk = stream[:, start : start + WINDOW + 1]
        yield Window(chunk[:, :-1], chunk[:, 1:], reset=start == 0)


def stateful_loss(model, batch, state):
    loss, new_state = model.loss(batch.input, batch.target, None if batch.reset else state)
    return loss, new_state, batch.target.numel()


def config(**overrides):
    # Plain SGD with lr 1 and no clipping: the update is minus the gradient, so equal weights
    # after a step mean equal gradients.
    settings = dict(optimizer="sgd", lr=1.0, clip_grad_norm=None, eval_every=None, device="cpu", progress=False)
    return TrainConfig(**{**settings, **overrides})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch_environment(**variables) -> dict:
    return {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        **{name: str(value) for name, value in variables.items()},
    }


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> Path:
    """Run WORKER in two processes, as torchrun would; the folder of what they wrote."""
    folder = tmp_path_factory.mktemp("ranks")
    ports = [str(free_port()) for _ in range(3)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(folder), *ports],
            cwd=REPO,
            env=launch_environment(RANK=rank, LOCAL_RANK=rank, WORLD_SIZE=2),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    try:
        outputs = [process.communicate(timeout=180)[0] for process in processes]
    finally:
        for process in processes:  # only these children, and only if one timed out
            if process.poll() is None:
                process.kill()
                process.wait()
    for rank, (process, output) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, f"rank {rank} failed:\n{output}"
    return folder


def reports(folder: Path, scenario: str) -> list[dict]:
    return [json.loads((folder / f"{scenario}{rank}.json").read_text()) for rank in range(2)]


def assert_same_weights(a: dict, b: dict, atol=1e-6):
    for name, tensor in a.items():
        difference = (tensor - b[name]).abs().max().item()
        assert difference <= atol, f"{name} differs by {difference}"


def test_shard_batch_keeps_each_ranks_rows_and_passes_the_rest():
    batch = {"window": Window(torch.arange(10).reshape(5, 2), torch.zeros(5, 2), reset=True), "scale": torch.tensor(2.0)}
    pieces = [shard_batch(batch, rank, 2) for rank in range(2)]
    assert torch.equal(pieces[0]["window"].input, torch.arange(6).reshape(3, 2))  # tensor_split: 3 + 2 rows
    assert torch.equal(pieces[1]["window"].input, torch.arange(6, 10).reshape(2, 2))
    assert all(piece["window"].reset is True and piece["scale"].item() == 2.0 for piece in pieces)
    assert shard_batch(batch, 0, 1) is batch
    with pytest.raises(Exception, match="batch of 5 rows cannot be shared among 8 processes"):
        shard_batch(batch, 0, 8)


def test_two_ranks_train_like_one_process_on_the_whole_batch(two_ranks):
    """Three stateful-tBPTT steps on two ranks, each on its two rows, give the weights of one
    process on all four rows: DDP averages the gradients of the shards, and each rank carries
    the state of its own rows."""
    model = make_model()
    result = train(model, windows(), stateful_loss, config(steps=3))
    for rank, report in enumerate(reports(two_ranks, "steps")):
        assert report["group_left"]  # train() joined the group, so it left it
        # The recorded loss is the mean over the ranks: the whole batch's loss.
        assert report["losses"] == pytest.approx([entry["loss"] for entry in result.history], abs=1e-9)
        assert_same_weights(torch.load(two_ranks / f"steps{rank}.pt"), model.state_dict())


def test_a_nan_loss_on_one_rank_stops_every_rank(two_ranks):
    for report in reports(two_ranks, "diverge"):  # a rank that hung would have failed the timeout
        assert "training diverged at step 2: the loss is nan" in report["diverged"]
        assert report["group_kept"]  # the caller joined the group, so train() left it alone


def test_every_rank_stops_where_rank_0_says(two_ranks):
    """stop_at on rank 0's evaluation, max_minutes on rank 0's clock: ranks that stopped at
    different steps would wait for each other forever."""
    rank_0, rank_1 = reports(two_ranks, "agree")
    assert (rank_0["evaluations"], rank_1["evaluations"]) == (2, 0)  # rank 0 alone evaluates
    for report in (rank_0, rank_1):
        assert report["stopped"] == [2, True, 1.0, 1.0]  # the metrics reached every rank
        assert report["timed_out"] == [1, True]


def test_resume_on_two_ranks_gives_the_weights_of_an_uninterrupted_run(two_ranks):
    for rank, report in enumerate(reports(two_ranks, "resume")):
        assert report["resumed"] == pytest.approx(report["straight"][2:], abs=1e-9)
        assert_same_weights(torch.load(two_ranks / f"resumed{rank}.pt"), torch.load(two_ranks / f"straight{rank}.pt"))
    # Every rank's carried state and random numbers are kept, and they are the rank's own.
    trainer_state = load_checkpoint(two_ranks / "resumed" / "last").trainer_state
    assert trainer_state["world_size"] == 2 and len(trainer_state["ranks"]) == 2
    first, second = (rank_state["rng"]["torch"] for rank_state in trainer_state["ranks"])
    assert not torch.equal(first, second)


def test_one_process_resumes_a_two_rank_checkpoint_without_its_carried_state(two_ranks, tmp_path):
    """The carried states hold each rank's rows, which no longer fit: they start afresh."""
    shutil.copytree(two_ranks / "resumed", tmp_path / "run")
    settings = config(steps=5, optimizer="adam", lr=1e-2, eval_every=5, out_dir=str(tmp_path / "run"), resume=True)
    with pytest.warns(UserWarning, match="written by 2 process.*this run has 1.*start afresh"):
        result = train(make_model(dropout=0.3), windows(), stateful_loss, settings, checkpoint_config={"kind": "lm"})
    assert [entry["step"] for entry in result.history] == [5]
    assert "world_size" not in load_checkpoint(tmp_path / "run" / "last").trainer_state  # a one-process checkpoint


def test_torchrun_trains_the_text_task_and_resumes(tmp_path):
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port", str(free_port()),
        "-m", "seqlab", "text", "train", "--preset", "tiny", "--out", str(out),
        "--eval-every", "3", "--no-progress", "--device", "cpu",
    ]  # fmt: skip
    environment = launch_environment()
    for steps, extra in ((6, []), (9, ["--resume"])):
        finished = subprocess.run(
            command + ["--steps", str(steps), *extra],
            cwd=REPO, env=environment, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert load_checkpoint(out / "best").state_dict  # loadable
        assert load_checkpoint(out / "last").config["step"] == steps
