"""`seqlab caption train | evaluate | caption`, end to end through seqlab.cli.main (tiny preset)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from seqlab.caption.scenes import draw, random_scene
from tests.helpers import run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("run")
    code, stdout, stderr = run(["caption", "train", "--preset", "tiny", "--out", str(out), "--no-progress"])
    assert code == 0, stderr
    return out, stdout


def test_train_then_evaluate_beside_the_baselines(trained):
    pytest.importorskip("sacrebleu")
    out, stdout = trained
    assert "300 training images of shapes (64x64)" in stdout
    code, stdout, stderr = run(["caption", "evaluate", "--checkpoint", str(out / "best"), "--json"])
    assert code == 0, stderr
    results = json.loads(stdout)
    assert set(results["scores"]) == {"most frequent caption", "nearest training image", "model (greedy)"}
    assert results["scores"]["most frequent caption"]["distinct"] == pytest.approx(1 / 40)
    assert all(0 <= s["correct"] <= 1 for s in results["scores"].values())


def test_caption_reads_a_png(trained, tmp_path):
    out, _ = trained
    path = tmp_path / "scene.png"
    Image.fromarray(draw(random_scene(np.random.default_rng(5)))).save(path)
    code, stdout, stderr = run(["caption", "caption", str(path), "--checkpoint", str(out / "best")])
    assert code == 0, stderr
    assert stdout.strip() and "<" not in stdout


def test_bad_images_are_one_line_errors(trained, tmp_path):
    out, _ = trained
    not_image = tmp_path / "x.png"
    not_image.write_text("not an image")
    small = tmp_path / "small.png"
    Image.new("RGB", (10, 10)).save(small)
    for path, expected in ((not_image, "cannot read"), (small, "is 10x10; this model reads 64x64")):
        code, _, stderr = run(["caption", "caption", str(path), "--checkpoint", str(out / "best")])
        assert code == 2 and expected in stderr and stderr.count("\n") == 1


def test_an_unknown_dataset_or_another_tasks_checkpoint_is_one_line(trained, tmp_path):
    code, _, stderr = run(["caption", "train", "--preset", "tiny", "--dataset", "faces", "--out", str(tmp_path / "x")])
    assert code == 2 and "'shapes', 'digits'" in stderr and stderr.count("\n") == 1
    from seqlab.tasks import music

    code, _, stderr = run(["caption", "caption", "x.png", "--checkpoint", str(music.pretrained_path())])
    assert code == 2 and stderr.count("\n") == 1
