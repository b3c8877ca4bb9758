"""Trajectories: where will it go next?

    seqlab trajectory ball train     [--out DIR] [--gust G] [--hidden P] [options]   CNN + LSTM on simulated frames
    seqlab trajectory ball evaluate  [--checkpoint DIR] [--sequences N] [--json]     ADE/FDE beside the baselines
    seqlab trajectory ball show      [--checkpoint DIR] [--index I] [--out ball.gif]  frames, true and predicted paths
    seqlab trajectory pedestrians train     --data DIR [--scene eth] [options]    leave one scene out (ETH/UCY)
    seqlab trajectory pedestrians evaluate  --checkpoint DIR [--data DIR] [--json] ADE/FDE beside the baselines
    seqlab trajectory pedestrians show      --checkpoint DIR [--data DIR] [--out scene.png]

Pedestrians: tracks read by seqlab.trajectory.pedestrians (which also holds the constant-velocity
and linear-regression baselines), the model seqlab.models.pedestrian's encoder-decoder (with
--social attention it also reads its neighbours; with --head gaussian it draws samples, scored
best of 20 beside its mean path).

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
from seqlab.models.pedestrian import PedestrianPredictor, PedestrianPredictorConfig
from seqlab.trajectory import pedestrians
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
    # The task's recipe: 4,000 steps take about 9 minutes on one free core; on a busy machine
    # the 10-minute cap ends it early, evaluated and saved (the shipped model stopped at step
    # 2,825 of 4,000 so, the cosine schedule unfinished).
    "default": {
        "train": dict(steps=4000, lr=2e-3, lr_schedule="cosine", warmup_steps=100, eval_every=500,
                      max_minutes=10.0, metric="val_fde", maximize=False),
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
    preset_help = "default: the recipe (at most 10 minutes on a CPU); tiny: a smoke test"
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


# ------------------------------------------------------------------------------- pedestrians
PEDESTRIAN_KIND = "pedestrian-predictor"
VALIDATION_SHARE = 10  # the last tenth of each training file's windows picks the best checkpoint


@dataclass
class PedestrianDataConfig:
    """The folder of ETH/UCY track files, the scene held out, and the windows cut from them."""

    data: str = ""  # a folder of frame/pedestrian/x/y files
    scene: str = dataclasses.field(default="eth", metadata={"choices": tuple(pedestrians.SCENES)})
    observed: int = 8  # steps seen (3.2 s)
    horizon: int = 12  # steps predicted (4.8 s)
    batch_size: int = 64
    neighbours: int = 8  # the nearest others kept per window (a social model's view)

    def __post_init__(self) -> None:
        if self.scene not in pedestrians.SCENES:
            raise ConfigError("scene", f"must be one of {', '.join(pedestrians.SCENES)}, got {self.scene!r}")
        check_range("observed", self.observed, 2, MAX_STEPS_SEEN)
        check_range("horizon", self.horizon, 1, MAX_STEPS_SEEN)
        check_range("neighbours", self.neighbours, 0, 64)
        check_range("batch_size", self.batch_size, 1, 100_000)


PedestrianConfig = frame.task_config("PedestrianConfig", PedestrianDataConfig, PedestrianPredictorConfig)

PEDESTRIAN_PRESETS: dict[str, dict] = {
    "default": {"train": dict(steps=2000, lr=2e-3, lr_schedule="cosine", eval_every=250, metric="val_ade")},
    "tiny": {"model": dict(embedding_size=8, hidden_size=8), "train": dict(steps=20, eval_every=10)},
}


class PedestrianData(NamedTuple):
    train: np.ndarray  # (N, observed + horizon, 2) windows of the training scenes
    validation: np.ndarray  # held back from the training scenes
    test: np.ndarray  # the scene left out
    skipped: int  # tracks too short for a window
    train_neighbours: np.ndarray  # (N, M, observed, 2) each window's nearest others, NaN where none
    validation_neighbours: np.ndarray
    test_neighbours: np.ndarray


def load_pedestrians(data: PedestrianDataConfig, folder: str | None = None) -> PedestrianData:
    folder = folder or data.data
    if not folder:
        raise SeqlabError("--data: give the folder of ETH/UCY track files (frame pedestrian x y)")
    training_files, test_files = pedestrians.split_files(pedestrians.scene_files(folder), data.scene)
    length = data.observed + data.horizon
    training = pedestrians.load_windows(training_files, length, data.observed, data.neighbours)
    test = pedestrians.load_windows(test_files, length, data.observed, data.neighbours)
    held_back = np.zeros(len(training.positions), dtype=bool)
    for index in np.unique(training.scene):
        mine = np.flatnonzero(training.scene == index)
        held_back[mine[len(mine) - len(mine) // VALIDATION_SHARE:]] = True
    if not (~held_back).any() or not len(test.positions):
        raise SeqlabError(f"--data {folder}: no track of {length} steps ({data.observed} observed + {data.horizon} predicted) "
                          f"to {'train' if not (~held_back).any() else 'test'} on")
    return PedestrianData(training.positions[~held_back], training.positions[held_back], test.positions,
                          training.skipped + test.skipped, training.neighbours[~held_back],
                          training.neighbours[held_back], test.neighbours)


def model_name(config: PedestrianPredictorConfig) -> str:
    """The model's row in a table: what it sees, and what it says."""
    return "LSTM enc-dec" + (" + attention" if config.social == "attention" else "") + (
        ", Gaussian" if config.head == "gaussian" else "")


def pedestrian_predict(model: PedestrianPredictor, observed: np.ndarray, neighbours: np.ndarray | None = None,
                       samples: int = 0, seed: int = 0, batch_size: int = 1024) -> np.ndarray:
    """The model's path (N, K, 2) in metres, or with `samples` > 0 that many drawn paths
    (S, N, K, 2) from its Gaussian head (repeatable from `seed`)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    out = []
    with torch.no_grad():
        for begin in range(0, len(observed), batch_size):
            seen = torch.from_numpy(observed[begin:begin + batch_size]).float().to(device)
            near = None if neighbours is None else torch.from_numpy(neighbours[begin:begin + batch_size]).float().to(device)
            out.append(model.sample(seen, near, samples, generator) if samples else model(seen, near))
    model.train(was_training)
    return torch.cat(out, dim=1 if samples else 0).cpu().numpy().astype(np.float64)


def pedestrian_errors(path: np.ndarray, future: np.ndarray) -> dict[str, float]:
    distance = np.linalg.norm(path - future, axis=-1)  # (N, K) metres
    return {"ade": float(distance.mean()), "fde": float(distance[:, -1].mean())}


class PedestrianTask(Task):
    name = "trajectory pedestrians"
    kind = PEDESTRIAN_KIND
    what = "pedestrian predictor"
    config_type = PedestrianConfig
    presets = PEDESTRIAN_PRESETS
    preset_help = "default: the recipe; tiny: a smoke test"
    default_out = "runs/pedestrians"
    export_metric = ("val_ade", "ADE (metres)")
    train_help = ("train the LSTM encoder-decoder on every scene but --scene (leave one scene out); the best "
                  "checkpoint by held-back ADE in OUT/best")
    flag_help = {"data": "a folder of ETH/UCY track files (frame pedestrian x y)", "scene": "the scene left out for testing",
                 "observed": "steps seen (0.4 s each)", "horizon": "steps predicted", "batch_size": "windows per step",
                 "neighbours": "nearest other pedestrians kept per window, for --social attention",
                 "social": "none: the walker's own steps; attention: also its neighbours', by additive attention",
                 "head": f"point: one path; gaussian: a bivariate Gaussian per step, best of {20} also scored"}

    def pretrained_path(self) -> Path:
        return Path(str(resources.files("seqlab.trajectory") / "pretrained" / "pedestrians"))

    def load_data(self, config) -> PedestrianData:
        return load_pedestrians(config.data)

    def model_config(self, config, data) -> PedestrianPredictorConfig:
        return replace(config.model, horizon=config.data.horizon)

    def build_model(self, config, data) -> PedestrianPredictor:
        return PedestrianPredictor(self.model_config(config, data))

    def batches(self, config, data: PedestrianData):
        """Endless random windows, each turned by a random angle about its last observed point:
        a walk means the same in every direction, and the scenes' own directions are few."""
        rng = np.random.default_rng((0, config.train.seed))
        observed = config.data.observed
        while True:
            picked = rng.integers(0, len(data.train), config.data.batch_size)
            windows, near = data.train[picked], data.train_neighbours[picked]  # (B, T, 2), (B, M, observed, 2)
            angle = rng.uniform(0, 2 * np.pi, len(windows))
            rotation = np.stack([np.stack([np.cos(angle), -np.sin(angle)], -1), np.stack([np.sin(angle), np.cos(angle)], -1)], -2)
            centre = windows[:, observed - 1:observed]  # (B, 1, 2): the neighbours turn about the same point
            turned = torch.from_numpy(np.einsum("nij,ntj->nti", rotation, windows - centre)).float()
            turned_near = torch.from_numpy(np.einsum("nij,nmtj->nmti", rotation, near - centre[:, None])).float()
            yield turned[:, :observed], turned[:, observed:], turned_near

    def loss(self, model, batch, state):
        observed, future, neighbours = batch
        return model.loss(observed, future, neighbours), None, observed.shape[0]

    def evaluate(self, model, data: PedestrianData) -> dict[str, float]:
        observed = data.validation.shape[1] - model.config.horizon
        errors = pedestrian_errors(pedestrian_predict(model, data.validation[:, :observed], data.validation_neighbours),
                                   data.validation[:, observed:])
        return {"val_ade": errors["ade"], "val_fde": errors["fde"]}

    def describe(self, config, data: PedestrianData, model) -> str:
        return (f"{len(data.train):,} training windows, {len(data.validation):,} held back, {len(data.test):,} in test "
                f"scene {config.data.scene} (left out); {data.skipped:,} tracks too short, skipped; "
                f"{sum(p.numel() for p in model.parameters()):,} parameters")

    def describe_result(self, result, config) -> str:
        return f"held-back ADE {result.metrics.get('val_ade', float('nan')):.3f} m (best {frame.best_of(result):.3f})"

    def checkpoint_config(self, config, data, model) -> dict:
        return {"model": model.config.to_json(), "data": asdict(config.data)}

    def load_checkpoint(self, path: Path, device: str) -> Loaded:
        model, config = load_model(path, PEDESTRIAN_KIND, self.what, PedestrianPredictor, PedestrianPredictorConfig,
                                   device, also=("data",))
        return Loaded(model, None, config)

    def add_evaluate_options(self, parser) -> None:
        parser.description = ("ADE and FDE (metres) of a pedestrian predictor on the scene it left out, beside "
                              "constant velocity and linear regression on the same windows.")
        parser.add_argument("--data", default=None, help="the folder of track files (default: the one it was trained on)")

    def run_evaluate(self, args) -> dict:
        loaded = self.load(args.checkpoint, args.device)
        data_config = PedestrianDataConfig(**loaded.config["data"])
        data = load_pedestrians(data_config, args.data)
        return evaluate_pedestrians(loaded.model, data_config, data) | {"checkpoint": str(args.checkpoint)}

    def print_evaluation(self, results: dict) -> None:
        print(f"scene {results['scene']} (left out): {results['windows']:,} windows, {results['skipped']:,} short tracks skipped")
        print(f"{'predictor':<36} {'ADE m':>7} {'FDE m':>7}   best of {BEST_OF}: ADE / FDE")
        for name, errors in results["rows"].items():
            best = f"{errors['best_ade']:>7.3f} / {errors['best_fde']:.3f}" if "best_ade" in errors else "      -"
            print(f"{name:<36} {errors['ade']:>7.3f} {errors['fde']:>7.3f}   {best}")
        print(f"(constant velocity's best of {BEST_OF}: its step turned by N(0, {results['turn_degrees']:.1f} deg), "
              "the spread chosen on the training scenes; its first draw is unturned)")

    def add_task_commands(self, verbs) -> None:
        show = verbs.add_parser("show", help="draw windows of the left-out scene: observed, true and predicted paths",
                                description="Draw a few windows of the scene the model left out (PNG): observed steps "
                                "(black), the true future (green), the model's (red; with a Gaussian head, its mean "
                                "path and 20 faint draws) and constant velocity's (blue).")
        frame.add_model_options(show)
        show.add_argument("--data", default=None, help="the folder of track files (default: the one it was trained on)")
        show.add_argument("--count", type=frame.bounded_int(1, 200), default=12, help="windows to draw (default 12)")
        show.add_argument("--out", default="scene.png", help="the PNG to write (default scene.png)")
        show.set_defaults(run=self.run_show)

    def run_show(self, args) -> int:
        out = frame.png_path(args.out)
        loaded = self.load(args.checkpoint, args.device)
        data_config = PedestrianDataConfig(**loaded.config["data"])
        data = load_pedestrians(data_config, args.data)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        chosen = np.linspace(0, len(data.test) - 1, min(args.count, len(data.test))).astype(int)
        picked, near = data.test[chosen], data.test_neighbours[chosen]
        observed = picked[:, :data_config.observed]
        paths = {"model": pedestrian_predict(loaded.model, observed, near),
                 "constant velocity": pedestrians.constant_velocity(observed, data_config.horizon)}
        drawn = (pedestrian_predict(loaded.model, observed, near, samples=BEST_OF, seed=SAMPLE_SEED)
                 if loaded.model.config.head == "gaussian" else np.zeros((0,) + observed.shape))
        figure, axes = plt.subplots(figsize=(7, 6))
        for i, window in enumerate(picked):
            for s, path in enumerate(drawn[:, i]):
                line = np.concatenate([observed[i, -1:], path])
                axes.plot(*line.T, "r-", lw=0.5, alpha=0.25, label=f"{BEST_OF} draws" if i == s == 0 else None)
            axes.plot(*observed[i].T, "k.-", lw=1, label="observed" if i == 0 else None)
            axes.plot(*window[data_config.observed - 1:].T, "g.-", lw=1, label="true" if i == 0 else None)
            for (name, path), colour in zip(paths.items(), ("r", "b")):
                line = np.concatenate([observed[i, -1:], path[i]])
                axes.plot(*line.T, colour + "--", lw=1, label=name if i == 0 else None)
        axes.set(aspect="equal", xlabel="x (m)", ylabel="y (m)", title=f"scene {data_config.scene}, left out")
        axes.legend()
        figure.savefig(out, dpi=100, bbox_inches="tight")
        plt.close(figure)
        print(f"wrote {out} ({len(picked)} windows of scene {data_config.scene})")
        return 0


BEST_OF = 20  # samples per window for best-of ADE/FDE (Gupta et al. 2018)
SAMPLE_SEED = 2  # the draws of every best-of score: the same in every run


def evaluate_pedestrians(model: PedestrianPredictor, config: PedestrianDataConfig, data: PedestrianData,
                         baselines: bool = True) -> dict:
    """ADE/FDE (metres) of the model and both baselines on the left-out scene's windows; a
    stochastic row (the Gaussian head; constant velocity with a turn drawn from N(0, a^2), a
    chosen on the training windows) also has best-of-20 ADE/FDE: "best_ade", "best_fde"."""
    observed, future = data.test[:, :config.observed], data.test[:, config.observed:]
    row = pedestrian_errors(pedestrian_predict(model, observed, data.test_neighbours), future)
    if model.config.head == "gaussian":
        drawn = pedestrian_predict(model, observed, data.test_neighbours, samples=BEST_OF, seed=SAMPLE_SEED)
        row |= {f"best_{k}": v for k, v in pedestrians.best_of(drawn, future).items()}
    rows = {model_name(model.config): row}
    if baselines:
        rng = np.random.default_rng(SAMPLE_SEED)
        turn = pedestrians.fit_turn(data.train[rng.permutation(len(data.train))[:2000]], config.observed, BEST_OF, rng)
        drawn = pedestrians.constant_velocity_samples(observed, config.horizon, BEST_OF, turn, rng)
        rows["constant velocity"] = pedestrian_errors(pedestrians.constant_velocity(observed, config.horizon), future)
        rows["constant velocity"] |= {f"best_{k}": v for k, v in pedestrians.best_of(drawn, future).items()}
        rows["linear regression"] = pedestrian_errors(pedestrians.linear_regression(observed, config.horizon), future)
        return {"scene": config.scene, "windows": len(data.test), "skipped": data.skipped, "rows": rows,
                "turn_degrees": float(np.degrees(turn))}
    return {"scene": config.scene, "windows": len(data.test), "skipped": data.skipped, "rows": rows}


PEDESTRIANS = PedestrianTask()


def add_commands(verbs) -> None:
    """`seqlab trajectory ball ...` and `seqlab trajectory pedestrians ...`: each problem is a
    task of its own on the frame."""
    for name, task, help_text in (
        ("ball", BALL, "a ball thrown in a box, predicted from its frames"),
        ("pedestrians", PEDESTRIANS, "pedestrians' next 4.8 s from their last 3.2 s (ETH/UCY, leave one scene out)"),
    ):
        parser = verbs.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        task_verbs = parser.add_subparsers(dest=f"{name}_verb", metavar="VERB")
        task_verbs.required = True
        task.add_commands(task_verbs)
