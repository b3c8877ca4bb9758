"""seqlab.checkpoint: round trips, atomic writes, and one clear error for every bad checkpoint."""

import json
import pickle

import pytest
import torch
from torch import nn

import seqlab.checkpoint as checkpoint_module
from seqlab.checkpoint import (
    CheckpointError,
    checkpoint_exists,
    load_checkpoint,
    load_model_weights,
    save_checkpoint,
)
from seqlab.errors import SeqlabError


class TinyCharModel(nn.Module):
    def __init__(self, vocab_size=8, hidden_size=16):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 8)
        self.lstm = nn.LSTM(8, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        output, state = self.lstm(self.embedding(x), state)
        return self.head(output), state


CONFIG = {"kind": "char-lm", "model": {"vocab_size": 8, "hidden_size": 16}, "vocabulary": list("abcdefgh")}


def trained_model_and_optimizer():
    torch.manual_seed(0)
    model = TinyCharModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.randint(0, 8, (2, 5))
    for _ in range(3):
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 8), x.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, optimizer


def assert_one_line_error(excinfo, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_round_trip_weights_config_optimizer_and_trainer_state(tmp_path, monkeypatch):
    model, optimizer = trained_model_and_optimizer()
    rng = torch.get_rng_state()
    carried = (torch.ones(1, 2, 16), torch.zeros(1, 2, 16))
    trainer_state = {"step": 3, "best": None, "carried": carried, "rng": rng}
    path = save_checkpoint(tmp_path / "last", model, CONFIG, optimizer, trainer_state)

    # Never a pickle load: reading must not need torch.load or pickle.
    def refuse(*args, **kwargs):
        raise AssertionError("checkpoints must not be unpickled")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)

    checkpoint = load_checkpoint(path / "model.safetensors", expected_kind="char-lm")  # the file works too
    assert checkpoint.path == path
    assert checkpoint.kind == "char-lm"
    assert checkpoint.config["format"] == "seqlab-checkpoint" and checkpoint.config["version"] == 1
    assert checkpoint.config["model"] == CONFIG["model"]
    assert checkpoint.config["vocabulary"] == CONFIG["vocabulary"]
    assert json.loads((path / "config.json").read_text())["kind"] == "char-lm"  # plain, readable JSON

    fresh = TinyCharModel()
    load_model_weights(fresh, checkpoint)
    for name, tensor in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], tensor), name

    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=1.0)
    fresh_optimizer.load_state_dict(checkpoint.optimizer_state)
    saved, loaded = optimizer.state_dict(), fresh_optimizer.state_dict()
    assert loaded["param_groups"] == saved["param_groups"]  # lr 1e-2 is back, betas a tuple again
    assert loaded["state"].keys() == saved["state"].keys()
    for index, state in saved["state"].items():
        for key, value in state.items():
            assert torch.equal(loaded["state"][index][key], value), (index, key)

    restored = checkpoint.trainer_state
    assert restored["step"] == 3 and restored["best"] is None
    assert isinstance(restored["carried"], tuple)
    assert torch.equal(restored["carried"][0], carried[0]) and torch.equal(restored["carried"][1], carried[1])
    assert torch.equal(restored["rng"], rng) and restored["rng"].dtype == torch.uint8


def test_weights_only_checkpoint_has_no_resume_state(tmp_path):
    model, _ = trained_model_and_optimizer()
    save_checkpoint(tmp_path / "best", model, CONFIG)
    checkpoint = load_checkpoint(tmp_path / "best")
    assert checkpoint.optimizer_state is None and checkpoint.trainer_state is None
    assert sorted(p.name for p in (tmp_path / "best").iterdir()) == ["config.json", "model.safetensors"]


def test_overwriting_keeps_other_files_beside_the_checkpoint(tmp_path):
    """Exporting into a package folder must not delete its __init__.py (or a user's notes)."""
    model, optimizer = trained_model_and_optimizer()
    target = tmp_path / "shipped"
    save_checkpoint(target, model, CONFIG, optimizer, {"step": 1})
    (target / "__init__.py").write_text("# package marker\n")
    (target / "notes").mkdir()
    (target / "notes" / "how.txt").write_text("trained on a CPU\n")
    with torch.no_grad():
        model.head.bias.add_(1.0)
    save_checkpoint(target, model, CONFIG)  # weights only this time
    assert (target / "__init__.py").read_text() == "# package marker\n"
    assert (target / "notes" / "how.txt").read_text() == "trained on a CPU\n"
    assert not (target / "optimizer.safetensors").exists()  # the old checkpoint's own files go
    assert torch.equal(load_checkpoint(target).state_dict["head.bias"], model.head.bias)


def test_tied_weights_are_saved_and_tied_again(tmp_path):
    model = TinyCharModel(vocab_size=8, hidden_size=8)
    model.head.weight = model.embedding.weight  # (8, 8) both: shared memory
    save_checkpoint(tmp_path / "tied", model, CONFIG)
    fresh = TinyCharModel(vocab_size=8, hidden_size=8)
    fresh.head.weight = fresh.embedding.weight
    load_model_weights(fresh, tmp_path / "tied")
    assert torch.equal(fresh.head.weight, model.embedding.weight)
    assert fresh.head.weight is fresh.embedding.weight


def test_a_save_that_fails_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    model, optimizer = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "last", model, {**CONFIG, "step": 1}, optimizer, {"step": 1})
    first = {name: tensor.clone() for name, tensor in model.state_dict().items()}

    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module, "_save_tree", crash)  # after model.safetensors is written
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, {**CONFIG, "step": 2}, optimizer, {"step": 2})
    monkeypatch.undo()

    checkpoint = load_checkpoint(path)
    assert checkpoint.config["step"] == 1 and checkpoint.trainer_state == {"step": 1}
    for name, tensor in first.items():
        assert torch.equal(checkpoint.state_dict[name], tensor)

    save_checkpoint(path, model, {**CONFIG, "step": 2}, optimizer, {"step": 2})  # the leftover is cleared
    assert load_checkpoint(path).config["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]


def test_a_crash_between_the_renames_falls_back_to_the_old_copy(tmp_path, monkeypatch):
    model, _ = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "last", model, {**CONFIG, "step": 1})
    real_replace = checkpoint_module.os.replace
    calls = []

    def replace_then_crash(source, destination):
        calls.append((source, destination))
        if len(calls) == 2:  # target -> target.old happened; temporary -> target does not
            raise KeyboardInterrupt
        real_replace(source, destination)

    monkeypatch.setattr(checkpoint_module.os, "replace", replace_then_crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, {**CONFIG, "step": 2})
    monkeypatch.undo()

    assert not path.exists() and (tmp_path / "last.old").is_dir()
    assert checkpoint_exists(path)
    assert load_checkpoint(path).config["step"] == 1

    save_checkpoint(path, model, {**CONFIG, "step": 3})  # a later save finishes the job
    assert load_checkpoint(path).config["step"] == 3
    assert not (tmp_path / "last.old").exists()


def test_missing_checkpoint(tmp_path):
    assert issubclass(CheckpointError, SeqlabError)  # the command line prints it as one line
    assert not checkpoint_exists(tmp_path / "nowhere")
    with pytest.raises(CheckpointError) as excinfo:
        load_checkpoint(tmp_path / "nowhere")
    assert_one_line_error(excinfo, "no checkpoint at", "nowhere")


def test_missing_weights_file(tmp_path):
    model, _ = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "ckpt", model, CONFIG)
    (path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError) as excinfo:
        load_checkpoint(path)
    assert_one_line_error(excinfo, "incomplete", "model.safetensors")


@pytest.mark.parametrize("keep", [5, 100, -10])
def test_truncated_weights(tmp_path, keep):
    model, _ = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "ckpt", model, CONFIG)
    file = path / "model.safetensors"
    data = file.read_bytes()
    file.write_bytes(data[:keep])
    with pytest.raises(CheckpointError) as excinfo:
        load_checkpoint(path)
    assert_one_line_error(excinfo, "model.safetensors is truncated or corrupt")


def test_corrupt_optimizer_file(tmp_path):
    model, optimizer = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "ckpt", model, CONFIG, optimizer)
    (path / "optimizer.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError) as excinfo:
        load_checkpoint(path)
    assert_one_line_error(excinfo, "optimizer.safetensors is truncated or corrupt")


def test_truncated_config(tmp_path):
    model, _ = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "ckpt", model, CONFIG)
    text = (path / "config.json").read_text()
    (path / "config.json").write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError) as excinfo:
        load_checkpoint(path)
    assert_one_line_error(excinfo, "config.json is truncated or corrupt")


def test_not_a_seqlab_checkpoint(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"architectures": ["GPT2"]}')
    with pytest.raises(CheckpointError) as excinfo:
        load_checkpoint(tmp_path / "other")
    assert_one_line_error(excinfo, "is not a seqlab checkpoint")


def test_newer_version_is_refused(tmp_path):
    model, _ = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "ckpt", model, CONFIG)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "version": 2}))
    with pytest.raises(CheckpointError) as excinfo:
        load_checkpoint(path)
    assert_one_line_error(excinfo, "version 2")


def test_wrong_kind(tmp_path):
    model, _ = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "ckpt", model, CONFIG)
    with pytest.raises(CheckpointError) as excinfo:
        load_checkpoint(path, expected_kind="sentiment-classifier")
    assert_one_line_error(excinfo, "holds a 'char-lm' model, not a 'sentiment-classifier'")


def test_weights_of_another_shape(tmp_path):
    model, _ = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "ckpt", model, CONFIG)
    other = TinyCharModel(hidden_size=32)
    before = {name: tensor.clone() for name, tensor in other.state_dict().items()}
    with pytest.raises(CheckpointError) as excinfo:
        load_model_weights(other, path)
    assert_one_line_error(
        excinfo, "holds a 'char-lm'", '"hidden_size": 16', "lstm.weight_ih_l0 is (64, 8) there, (128, 8) here"
    )
    for name, tensor in other.state_dict().items():
        assert torch.equal(tensor, before[name])  # nothing half-loaded


def test_weights_of_another_architecture(tmp_path):
    model, _ = trained_model_and_optimizer()
    path = save_checkpoint(tmp_path / "ckpt", model, CONFIG)
    other = nn.Sequential(nn.Linear(3, 3))
    with pytest.raises(CheckpointError) as excinfo:
        load_model_weights(other, path)
    assert_one_line_error(excinfo, "does not fit this Sequential", "no 0.weight", "unexpected")


def test_refuses_to_replace_a_directory_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "important.txt").write_text("keep me")
    model, _ = trained_model_and_optimizer()
    with pytest.raises(CheckpointError, match="not a seqlab checkpoint; refusing"):
        save_checkpoint(tmp_path / "notes", model, CONFIG)
    assert (tmp_path / "notes" / "important.txt").read_text() == "keep me"


def test_config_needs_a_kind(tmp_path):
    model, _ = trained_model_and_optimizer()
    with pytest.raises(ValueError, match="'kind'"):
        save_checkpoint(tmp_path / "ckpt", model, {"model": {}})
