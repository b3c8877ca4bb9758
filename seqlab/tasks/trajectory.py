"""Trajectories: where will it go next?

    seqlab trajectory ball train     [--out DIR] [--gust G] [--hidden P] [options]   CNN + LSTM on simulated frames
    seqlab trajectory ball evaluate  [--checkpoint DIR] [--sequences N] [--json]     ADE/FDE beside the baselines
    seqlab trajectory ball show      [--checkpoint DIR] [--index I] [--out ball.gif]  frames, true and predicted paths

The world is seqlab.trajectory.ball's simulator (its options are flags of train, and of
evaluate to test a model in another world); the baselines (constant velocity, a Kalman
filter, the true physics as the floor) are seqlab.trajectory.baselines'; the model is
seqlab.models.BallPredictor; training is the frame's (seqlab.tasks.frame). Training draws
fresh sequences for every batch; the held-out sequences come from fixed seeds of their own,
one set to pick the best checkpoint and another for `evaluate` and `show`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from seqlab.errors import ConfigError, SeqlabError, check_range
from seqlab.models.trajectory import BallPredictor, BallPredictorConfig
from seqlab.tasks import frame
from seqlab.tasks.frame import Loaded, Task, load_model
from seqlab.trajectory import baselines
from seqlab.trajectory.ball import BallWorld, Sequences, make_sequences, render
from seqlab.utils import choose_device, output_directory

BALL_KIND = "ball-predictor"
MAX_STEPS_SEEN = 100  # observed frames or predicted steps: far past any use, a typo beyond
MAX_SEQUENCES = 100_000
# Seeds of the held-out sets (tuples: never equal to a training batch's (0, seed, step)).
VALIDATION_SEED = (1,)
TEST_SEED = (2,)
MODEL_NAME = "CNN + LSTM"


# ------------------------------------------------------------------------------- config
@dataclass
class BallDataConfig(BallWorld):
    """The simulated world (BallWorld's fields), and what the predictor sees and predicts."""

    observed: int = 10  # frames seen
    horizon: int = 10  # K: future positions predicted
    batch_size: int = 32  # fresh sequences per training step
    validation: int = 500  # held-out sequences scored at every evaluation

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("observed", self.observed, 2, MAX_STEPS_SEEN)
        check_range("horizon", self.horizon, 1, MAX_STEPS_SEEN)
        check_range("batch_size", self.batch_size, 1, 100_000)
        check_range("validation", self.validation, 1, MAX_SEQUENCES)

    def world(self) -> BallWorld:
        return BallWorld(**{item.name: getattr(self, item.name) for item in dataclasses.fields(BallWorld)})


BallConfig = frame.task_config("BallConfig", BallDataConfig, BallPredictorConfig)

BALL_PRESETS: dict[str, dict] = {
    # The task's recipe: about 9 minutes on a 2-core CPU with one thread.
    "default": {
        "train": dict(steps=4000, lr=2e-3, lr_schedule="cosine", warmup_steps=100, eval_every=500,
                      metric="val_fde", maximize=False),
    },
    # A few seconds, for checking that everything runs (tests, CI).
    "tiny": {
        "data": dict(validation=32, batch_size=8),
        "model": dict(channels=4, keypoints=2, embedding_size=8, hidden_size=16),
        "train": dict(steps=20, eval_every=10, warmup_steps=0, lr=1e-2),
    },
}


class BallData(NamedTuple):
    config: BallDataConfig
    validation: Sequences


def future_of(sequences: Sequences, observed: int) -> np.ndarray:
    return sequences.positions[:, observed:]  # (N, K, balls, 2)


def predict(model: BallPredictor, frames: np.ndarray, batch_size: int = 250) -> np.ndarray:
    """The model's future positions (N, K, balls, 2) in pixels for frames (N, T, S, S) uint8."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for begin in range(0, len(frames), batch_size):
            out.append(model(torch.from_numpy(frames[begin:begin + batch_size]).to(device)).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out).astype(np.float64)


# ------------------------------------------------------------------------------- the task
class BallTask(Task):
    name = "trajectory ball"
    kind = BALL_KIND
    what = "ball predictor"
    config_type = BallConfig
    presets = BALL_PRESETS
    preset_help = "default: the recipe (about 9 minutes on a CPU); tiny: a smoke test"
    default_out = "runs/ball"
    export_metric = ("val_fde", "FDE (pixels)")
    train_help = ("train the CNN + LSTM ball predictor on freshly simulated sequences; held-out ADE/FDE "
                  "at every evaluation, the best checkpoint in OUT/best")
    flag_help = {
        "size": "frames are SIZE x SIZE pixels", "balls": "balls per sequence (told apart by brightness)",
        "radius": "ball radius in pixels", "gravity": "pixels per frame per frame",
        "restitution": "speed kept across a bounce", "drag": "share of velocity lost to air per frame",
        "speed": "largest initial speed, pixels per frame", "noise": "sensor noise (intensities 0 to 1)",
        "hidden": "probability that an observed frame shows no ball",
        "gust": "random velocity kick per frame (pixels per frame): what no one can predict",
        "observed": "frames the model sees", "horizon": "K: future positions predicted",
        "batch_size": "sequences per training step", "validation": "held-out sequences scored at each evaluation",
        "channels": "convolution channels per frame", "keypoints": "soft-argmax keypoints per frame",
        "embedding_size": "size of a frame's vector",
    }

    def pretrained_path(self) -> Path:
        return Path(str(resources.files("seqlab.trajectory") / "pretrained" / "ball"))

    def load_data(self, config) -> BallData:
        data: BallDataConfig = config.data
        validation = make_sequences(data.world(), data.validation, data.observed, data.horizon, VALIDATION_SEED)
        return BallData(data, validation)

    def model_config(self, config, data: BallData) -> BallPredictorConfig:
        return replace(config.model, frame_size=data.config.size, balls=data.config.balls, horizon=data.config.horizon)

    def training_bytes(self, config, data: BallData) -> int:
        return self.model_config(config, data).training_bytes(config.data.batch_size, config.data.observed)

    def build_model(self, config, data: BallData) -> BallPredictor:
        return BallPredictor(self.model_config(config, data))

    def batches(self, config, data: BallData):
        """Endless fresh sequences: batch i from the seed (0, run seed, i), so a resumed run
        sees what an uninterrupted one would."""
        world, d = data.config.world(), data.config
        step = 0
        while True:
            sequences = make_sequences(world, d.batch_size, d.observed, d.horizon, (0, config.train.seed, step))
            yield torch.from_numpy(sequences.frames), torch.from_numpy(future_of(sequences, d.observed)).float()
            step += 1

    def loss(self, model, batch, state):
        frames, future = batch
        return model.loss(frames, future), None, frames.shape[0]

    def evaluate(self, model, data: BallData) -> dict[str, float]:
        errors = baselines.displacement_errors(predict(model, data.validation.frames),
                                               future_of(data.validation, data.config.observed))
        return {"val_ade": errors["ade"], "val_fde": errors["fde"]}

    def describe(self, config, data: BallData, model) -> str:
        d = data.config
        return (f"fresh {d.size}x{d.size} sequences of {d.balls} ball(s), {d.batch_size} a step: {d.observed} frames seen, "
                f"{d.horizon} positions predicted; {d.validation:,} held out; "
                f"{sum(p.numel() for p in model.parameters()):,} parameters")

    def describe_result(self, result, config) -> str:
        fde = result.metrics.get("val_fde", float("nan"))
        return f"held-out FDE {fde:.3f} pixels (best {frame.best_of(result):.3f}), ADE {result.metrics.get('val_ade', float('nan')):.3f}"

    def checkpoint_config(self, config, data: BallData, model) -> dict:
        return {"model": model.config.to_json(), "data": asdict(data.config)}

    def load_checkpoint(self, path: Path, device: str) -> Loaded:
        model, config = load_model(path, BALL_KIND, self.what, BallPredictor, BallPredictorConfig, device, also=("data",))
        return Loaded(model, None, config)

    # ------------------------------------------------------------------ evaluate, show
    def add_world_options(self, parser) -> None:
        """The simulator's options, to test a model in another world than its own (default: its own)."""
        for item in dataclasses.fields(BallWorld):
            parser.add_argument("--" + item.name, dest=f"world.{item.name}", type=int if item.type in (int, "int") else float,
                                default=None, metavar=item.name.upper(),
                                help=f"{self.flag_help.get(item.name, '')} (default: the model's world)")

    def add_evaluate_options(self, parser) -> None:
        parser.description = ("ADE and FDE (pixels) of a ball predictor on held-out sequences, beside constant velocity, "
                              "a constant-acceleration Kalman filter and the true physics, on the same sequences.")
        parser.add_argument("--sequences", type=frame.bounded_int(1, MAX_SEQUENCES), default=1000,
                            help="held-out sequences (default 1000)")
        self.add_world_options(parser)

    def test_world(self, args, loaded: Loaded) -> BallDataConfig:
        """The checkpoint's world, with the options given over it; one line if the model cannot see it."""
        overrides = {item.name: getattr(args, f"world.{item.name}") for item in dataclasses.fields(BallWorld)
                     if getattr(args, f"world.{item.name}", None) is not None}
        try:
            data = BallDataConfig(**{**loaded.config["data"], **overrides})
        except ConfigError as error:
            raise SeqlabError(f"--{error.field.replace('_', '-')} {error.message}") from None
        model_config = loaded.model.config
        if data.size != model_config.frame_size:
            raise SeqlabError(f"this ball model reads {model_config.frame_size}x{model_config.frame_size} frames; "
                              f"--size {data.size} would give it {data.size}x{data.size}")
        if data.balls != model_config.balls:
            raise SeqlabError(f"this ball model follows {model_config.balls} ball(s); --balls {data.balls} asks for {data.balls}")
        return data

    def run_evaluate(self, args) -> dict:
        loaded = self.load(args.checkpoint, args.device)
        data = self.test_world(args, loaded)
        return evaluate_ball(loaded.model, data, args.sequences) | {"checkpoint": str(args.checkpoint or self.pretrained_path())}

    def print_evaluation(self, results: dict) -> None:
        print_ball_table(results)

    def add_task_commands(self, verbs) -> None:
        show = verbs.add_parser("show", help="draw a held-out sequence: observed frames, the true and predicted paths",
                                description="Write an animated GIF (or, for a .png name, a strip of frames) of one held-out "
                                "sequence: the observed frames, then the future with the true path (green), the model's "
                                "(red) and the Kalman filter's (blue).")
        frame.add_model_options(show)
        show.add_argument("--index", type=frame.bounded_int(0, MAX_SEQUENCES - 1), default=0,
                          help="which held-out sequence (default 0)")
        show.add_argument("--out", default="ball.gif", help="the file to write: .gif (default ball.gif) or .png")
        self.add_world_options(show)
        show.set_defaults(run=self.run_show)

    def run_show(self, args) -> int:
        out = Path(args.out)
        if out.suffix.lower() not in (".gif", ".png"):
            raise SeqlabError(f"--out {args.out}: give a .gif or .png file name")
        if out.is_dir():
            raise SeqlabError(f"--out {args.out} is a folder; give a .gif or .png file name")
        output_directory(out.parent if str(out.parent) else ".", flag="--out's folder")
        loaded = self.load(args.checkpoint, args.device)
        data = self.test_world(args, loaded)
        from seqlab.trajectory.draw import draw_sequence  # Pillow, only for show

        sequences = make_sequences(data.world(), args.index + 1, data.observed, data.horizon, TEST_SEED)
        one = Sequences(*(part[args.index:args.index + 1] for part in sequences))
        paths = {"model": predict(loaded.model, one.frames)[0],
                 "kalman": baselines.predict_all(data.world(), one.frames, data.horizon)["Kalman (constant acceleration)"][0]}
        future_frames = render(data.world(), one.positions[:, data.observed:], np.random.default_rng(TEST_SEED + (args.index,)))[0]
        draw_sequence(out, data.world(), one.frames[0], future_frames, one.positions[0], paths)
        errors = baselines.displacement_errors(paths["model"][None], future_of(one, data.observed))
        print(f"wrote {out} (held-out sequence {args.index}: model FDE {errors['fde']:.2f} pixels)")
        return 0


def evaluate_ball(model: BallPredictor, data: BallDataConfig, count: int) -> dict:
    """ADE/FDE of the model and of each baseline on the same `count` held-out test sequences."""
    world = data.world()
    test = make_sequences(world, count, data.observed, data.horizon, TEST_SEED)
    future = future_of(test, data.observed)
    rows = {MODEL_NAME: baselines.displacement_errors(predict(model, test.frames), future)}
    for name, path in baselines.predict_all(world, test.frames, data.horizon).items():
        rows[name] = baselines.displacement_errors(path, future)
    return {"sequences": count, "world": asdict(world), "observed": data.observed, "horizon": data.horizon, "rows": rows}


def print_ball_table(results: dict) -> None:
    rows = results["rows"]
    print(f"{results['sequences']:,} held-out sequences: {results['observed']} frames seen, {results['horizon']} predicted")
    print(f"{'predictor':<34} {'ADE px':>8} {'FDE px':>8}")
    for name, errors in rows.items():
        print(f"{name:<34} {errors['ade']:>8.3f} {errors['fde']:>8.3f}")
    model, kalman, floor = rows[MODEL_NAME]["fde"], rows["Kalman (constant acceleration)"]["fde"], rows["true physics (floor)"]["fde"]
    print(f"model FDE: {1 - model / kalman:.0%} below the Kalman filter's, {model / floor:.2f}x the true physics'")


BALL = BallTask()


def add_commands(verbs) -> None:
    """`seqlab trajectory ball ...`: each problem is a task of its own on the frame."""
    parser = verbs.add_parser("ball", help="a ball thrown in a box, predicted from its frames",
                              description="A ball thrown in a box, seen as small noisy frames: predict where it goes next.")
    ball_verbs = parser.add_subparsers(dest="ball_verb", metavar="VERB")
    ball_verbs.required = True
    BALL.add_commands(ball_verbs)
