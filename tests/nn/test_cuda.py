"""The same guarantees on a GPU: seqlab's layers against torch.nn (cuDNN) on CUDA, training,
sampling and checkpoints across devices.

Skipped where there is no CUDA device (CI has none); `benchmarks/gpu_session.py` runs this file
on a lent GPU machine and RESULTS.md records the outcome with the card's name.
TF32 is turned off here: with it on, cuDNN and cuBLAS round float32 products to 10-bit
mantissas and agreement is only ~1e-3, which would hide real bugs behind the rounding.
"""

from __future__ import annotations

import itertools

import pytest
import torch

import seqlab.nn as snn
from seqlab.checkpoint import load_checkpoint, save_checkpoint
from seqlab.data import Vocabulary
from seqlab.models import LanguageModel, LanguageModelConfig
from seqlab.sample import SamplingConfig, sample
from seqlab.tasks._language import training_batches
from seqlab.tasks.text import TASK as TEXT_TASK
from seqlab.train import TrainConfig, train

from tests.nn.test_parity import KINDS, TOLERANCE, compare, flatten_state, initial_state, make, run

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CUDA = torch.device("cuda")
INPUT, HIDDEN, STEPS, BATCH = 5, 6, 7, 4


@pytest.fixture(autouse=True)
def no_tf32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def on(device, state):
    if state is None:
        return None
    return tuple(s.to(device) for s in state) if isinstance(state, tuple) else state.to(device)


def three_layers_on(kind, dtype, device, **kwargs):
    torch.manual_seed(0)
    reference = make(kind, torch.nn, dtype, **kwargs)
    scratch = make(kind, snn, dtype, **kwargs)
    fused = make(kind, snn, dtype, backend="fused", **kwargs)
    scratch.load_state_dict(reference.state_dict())
    fused.load_state_dict(reference.state_dict())
    return reference.to(device), scratch.to(device), fused.to(device)


GRID = list(itertools.product(KINDS, [1, 2], [False, True], [False, True]))
# cuDNN sums in its own order: in float32 a two-layer bidirectional tanh RNN differed from the
# scratch loop by 1.2e-5 on an H100 (float64 agreed to 1e-10, so that is rounding, not a bug).
CUDA_TOLERANCE = {torch.float32: 5e-5, torch.float64: TOLERANCE[torch.float64]}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind,layers,bidirectional,with_state", GRID)
def test_scratch_and_fused_match_cudnn(kind, layers, bidirectional, with_state, dtype):
    """On CUDA, torch.nn's layers run cuDNN's kernels: seqlab's scratch loop and fused path
    must give the same outputs, final states and gradients."""
    reference, scratch, fused = three_layers_on(
        kind, dtype, CUDA, num_layers=layers, bidirectional=bidirectional
    )
    torch.manual_seed(1)
    x = torch.randn(STEPS, BATCH, INPUT, dtype=dtype, device=CUDA)
    hx = on(CUDA, initial_state(kind, layers, 2 if bidirectional else 1, BATCH, dtype)) if with_state else None
    compare(run(reference, x, hx), {"scratch": run(scratch, x, hx), "fused": run(fused, x, hx)}, CUDA_TOLERANCE[dtype])


@pytest.mark.parametrize("kind", KINDS)
def test_gpu_matches_cpu(kind):
    """The same layer and input on CPU and on CUDA: the same numbers (float64, so any
    difference is a bug and not rounding)."""
    torch.manual_seed(2)
    cpu = make(kind, snn, torch.float64, num_layers=2, bidirectional=True)
    gpu = make(kind, snn, torch.float64, num_layers=2, bidirectional=True, backend="fused")
    gpu.load_state_dict(cpu.state_dict())
    gpu.to(CUDA)
    x = torch.randn(STEPS, BATCH, INPUT, dtype=torch.float64)
    out_cpu, state_cpu, grads_cpu = run(cpu, x, None)
    out_gpu, state_gpu, grads_gpu = run(gpu, x.to(CUDA), None)
    compare(
        (out_cpu, state_cpu, grads_cpu),
        {"cuda": (out_gpu.cpu(), [s.cpu() for s in state_gpu], {k: g.cpu() for k, g in grads_gpu.items()})},
        1e-10,
    )


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_packed_sequences_on_cuda(kind):
    """Variable-length batches (lengths=) on CUDA agree with cuDNN's packed sequences."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    reference, scratch, fused = three_layers_on(kind, torch.float32, CUDA, num_layers=2)
    lengths = torch.tensor([7, 5, 3, 1])
    x = torch.randn(STEPS, BATCH, INPUT, device=CUDA)
    packed_out, _ = reference(pack_padded_sequence(x, lengths))
    expected, _ = pad_packed_sequence(packed_out, total_length=STEPS)
    for layer in (scratch, fused):
        output, _ = layer(x, lengths=lengths)
        mask = (torch.arange(STEPS)[:, None] < lengths[None, :]).to(CUDA)
        diff = ((output - expected).abs() * mask[..., None]).max().item()
        assert diff < 1e-5, diff


def test_training_on_cuda_follows_cpu(tmp_path):
    """The one training loop, run for a few steps on CPU and on CUDA from the same seed and
    data, gives the same losses; its checkpoint, saved from the GPU, loads on the CPU."""
    text = "abc abd abe ggf aab " * 40
    vocab = Vocabulary.build(text)
    ids = torch.tensor(vocab.encode(text))
    losses = {}
    models = {}
    for device in ("cpu", "cuda"):
        torch.manual_seed(3)
        model = LanguageModel(LanguageModelConfig(len(vocab), 8, 16, 2, backend="fused"))
        config = TrainConfig(steps=6, lr=1e-2, device=device, progress=False, eval_every=None,
                             out_dir=str(tmp_path / device))
        result = train(model, training_batches(ids, 4, 16, True, 0), TEXT_TASK.loss, config,
                       checkpoint_config={"kind": "char-lm", "model": model.config.to_json()})
        losses[device] = [entry["loss"] for entry in result.history]
        models[device] = (model, result.last_checkpoint)
    assert len(losses["cuda"]) == 6
    assert losses["cuda"][-1] < losses["cuda"][0]
    for a, b in zip(losses["cpu"], losses["cuda"]):
        assert abs(a - b) < 1e-4, (losses["cpu"], losses["cuda"])
    model, path = models["cuda"]
    assert next(model.parameters()).device.type == "cuda"
    loaded = load_checkpoint(path, "char-lm")
    for name, tensor in model.state_dict().items():
        assert loaded.state_dict[name].device.type == "cpu"
        assert torch.equal(loaded.state_dict[name], tensor.cpu()), name


def test_sampling_on_cuda_matches_cpu_when_greedy():
    """The sampler steps the model on the GPU: greedy decoding gives the same text as on CPU,
    and random sampling of many streams at once gives texts of the asked length."""
    torch.manual_seed(4)
    vocab = Vocabulary.build("abcdefgh |")
    model = LanguageModel(LanguageModelConfig(len(vocab), 8, 32, 2, backend="fused")).double()
    greedy = SamplingConfig(greedy=True)
    on_cpu = sample(model, vocab, "ab", 40, greedy).texts
    model.to(CUDA)
    on_gpu = sample(model, vocab, "ab", 40, greedy).texts
    assert on_gpu == on_cpu
    many = sample(model, vocab, "a", 25, SamplingConfig(temperature=1.0), streams=16,
                  generator=torch.Generator().manual_seed(0))
    assert len(many.texts) == 16 and all(len(t) == 25 for t in many.texts)
    assert len(set(many.texts)) > 1
