"""seqlab's layers and cells against torch.nn: same outputs, states and gradients.

Each case builds a torch.nn layer, a seqlab scratch layer and a seqlab fused layer on one
state_dict, runs the same input through all three, backpropagates the same loss and
compares outputs, final states and every parameter's gradient.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import seqlab.nn as snn

KINDS = ["RNN", "RNN_RELU", "LSTM", "GRU"]
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
INPUT, HIDDEN, STEPS, BATCH = 5, 6, 7, 4


def make(kind: str, library, dtype, **kwargs):
    if kind == "RNN_RELU":
        kwargs["nonlinearity"] = "relu"
        kind = "RNN"
    return getattr(library, kind)(INPUT, HIDDEN, dtype=dtype, **kwargs)


def initial_state(kind, layers, directions, batch, dtype, unbatched=False):
    shape = (layers * directions, HIDDEN) if unbatched else (layers * directions, batch, HIDDEN)
    h0 = torch.randn(shape, dtype=dtype)
    return (h0, torch.randn(shape, dtype=dtype)) if kind == "LSTM" else h0


def flatten_state(state):
    return list(state) if isinstance(state, tuple) else [state]


def run(module, x, hx, **kwargs):
    """Forward, a loss touching every output and state, backward; return what to compare."""
    module.zero_grad()
    output, state = module(x, hx, **kwargs) if hx is not None else module(x, **kwargs)
    data = output.data if hasattr(output, "batch_sizes") else output
    loss = parity_loss(data, state)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in module.named_parameters()}
    return data, flatten_state(state), grads


def parity_loss(output, state):
    """A loss that every output and state element feeds, with a different weight each. Means,
    not sums, as in training: gradients stay of order one, so that the absolute tolerances
    (1e-5 in float32) ask for agreement to float32's precision and no more."""
    weights = torch.linspace(-1, 1, output.numel(), dtype=output.dtype, device=output.device).reshape(output.shape)
    return (output * weights).mean() + sum((s**2).mean() for s in flatten_state(state))


def assert_close(a, b, tol, what):
    diff = (a - b).abs().max().item() if a.numel() else 0.0
    assert diff <= tol, f"{what}: max abs difference {diff:.3g} > {tol:g}"


def compare(reference, candidates, tol):
    out_ref, state_ref, grads_ref = reference
    for label, (out, state, grads) in candidates.items():
        assert out.shape == out_ref.shape, label
        assert_close(out, out_ref, tol, f"{label} output")
        for i, (s, s_ref) in enumerate(zip(state, state_ref)):
            assert s.shape == s_ref.shape
            assert_close(s, s_ref, tol, f"{label} final state {i}")
        assert grads.keys() == grads_ref.keys()
        for name in grads_ref:
            assert_close(grads[name], grads_ref[name], tol, f"{label} grad {name}")


def three_layers(kind, dtype, **kwargs):
    torch.manual_seed(0)
    reference = make(kind, torch.nn, dtype, **kwargs)
    scratch = make(kind, snn, dtype, **kwargs)
    fused = make(kind, snn, dtype, backend="fused", **kwargs)
    scratch.load_state_dict(reference.state_dict())
    fused.load_state_dict(reference.state_dict())
    return reference, scratch, fused


GRID = list(itertools.product(KINDS, [1, 2, 3], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind,layers,bidirectional,batch_first,with_state", GRID)
def test_padded_matches_torch(kind, layers, bidirectional, batch_first, with_state, dtype):
    reference, scratch, fused = three_layers(
        kind, dtype, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first
    )
    torch.manual_seed(1)
    shape = (BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT)
    x = torch.randn(shape, dtype=dtype)
    hx = initial_state(kind, layers, 2 if bidirectional else 1, BATCH, dtype) if with_state else None
    compare(
        run(reference, x, hx),
        {"scratch": run(scratch, x, hx), "fused": run(fused, x, hx)},
        TOLERANCE[dtype],
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind,bidirectional,enforce_sorted", itertools.product(KINDS, [False, True], [False, True]))
def test_packed_matches_torch(kind, bidirectional, enforce_sorted, dtype):
    reference, scratch, fused = three_layers(kind, dtype, num_layers=2, bidirectional=bidirectional)
    torch.manual_seed(2)
    lengths = torch.tensor([7, 5, 5, 2]) if enforce_sorted else torch.tensor([3, 7, 1, 5])
    padded = torch.randn(STEPS, BATCH, INPUT, dtype=dtype)
    packed = pack_padded_sequence(padded, lengths, enforce_sorted=enforce_sorted)
    hx = initial_state(kind, 2, 2 if bidirectional else 1, BATCH, dtype)
    results = {name: run(m, packed, hx) for name, m in [("torch", reference), ("scratch", scratch), ("fused", fused)]}
    compare(results.pop("torch"), results, TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind,bidirectional,batch_first", itertools.product(KINDS, [False, True], [False, True]))
def test_lengths_match_packed_torch(kind, bidirectional, batch_first, dtype):
    """lengths= on padded input gives torch.nn's packed result, padded with zeros."""
    reference, scratch, fused = three_layers(
        kind, dtype, num_layers=2, bidirectional=bidirectional, batch_first=batch_first
    )
    torch.manual_seed(3)
    lengths = torch.tensor([3, 7, 1, 5])
    shape = (BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT)
    x = torch.randn(shape, dtype=dtype)

    # The reference: torch.nn on the packed batch, padded back to T steps.
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    reference.zero_grad()
    out_packed, state = reference(packed)
    out_ref, _ = pad_packed_sequence(out_packed, batch_first=batch_first, total_length=STEPS)
    parity_loss(out_ref, state).backward()
    expected = (out_ref, flatten_state(state), {n: p.grad.clone() for n, p in reference.named_parameters()})

    results = {"scratch": run(scratch, x, None, lengths=lengths), "fused": run(fused, x, None, lengths=lengths)}
    compare(expected, results, TOLERANCE[dtype])
    # Past each sequence's end the output is exactly zero.
    out = results["scratch"][0]
    time_major = out.transpose(0, 1) if batch_first else out
    for b, length in enumerate(lengths.tolist()):
        assert torch.count_nonzero(time_major[length:, b]) == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind,with_state", itertools.product(KINDS, [False, True]))
def test_unbatched_matches_torch(kind, with_state, dtype):
    reference, scratch, fused = three_layers(kind, dtype, num_layers=2, bidirectional=True)
    torch.manual_seed(4)
    x = torch.randn(STEPS, INPUT, dtype=dtype)
    hx = initial_state(kind, 2, 2, 1, dtype, unbatched=True) if with_state else None
    compare(
        run(reference, x, hx),
        {"scratch": run(scratch, x, hx), "fused": run(fused, x, hx)},
        TOLERANCE[dtype],
    )


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    layer = snn.LSTM(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    x = torch.randn(STEPS, BATCH, INPUT)
    layer.eval()
    a, _ = layer(x)
    b, _ = layer(x)
    assert torch.equal(a, b)
    layer.train()
    c, _ = layer(x)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_initial_weights(kind):
    """A seqlab layer built after manual_seed holds torch.nn's numbers, under torch.nn's names."""
    torch.manual_seed(123)
    reference = make(kind, torch.nn, torch.float32, num_layers=2, bidirectional=True)
    torch.manual_seed(123)
    ours = make(kind, snn, torch.float32, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(reference.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in reference.named_parameters()]
    for name, value in reference.state_dict().items():
        assert torch.equal(ours.state_dict()[name], value), name


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_loads_every_direction(kind):
    torch.manual_seed(5)
    modules = {
        "torch": make(kind, torch.nn, torch.float32, num_layers=2, bidirectional=True),
        "scratch": make(kind, snn, torch.float32, num_layers=2, bidirectional=True),
        "fused": make(kind, snn, torch.float32, num_layers=2, bidirectional=True, backend="fused"),
    }
    x = torch.randn(STEPS, BATCH, INPUT)
    for source, target in itertools.permutations(modules, 2):
        modules[target].load_state_dict(modules[source].state_dict())
        out_source, _ = modules[source](x)
        out_target, _ = modules[target](x)
        assert_close(out_target, out_source, 1e-5, f"{source} -> {target}")
        torch.manual_seed(hash((source, target)) % 1000)  # re-randomise the next source
        for p in modules[target].parameters():
            p.data.uniform_(-0.4, 0.4)  # new numbers, on the scale of the default init


CELLS = {
    "RNNCell": lambda lib, **kw: lib.RNNCell(INPUT, HIDDEN, **kw),
    "RNNCell_relu": lambda lib, **kw: lib.RNNCell(INPUT, HIDDEN, nonlinearity="relu", **kw),
    "LSTMCell": lambda lib, **kw: lib.LSTMCell(INPUT, HIDDEN, **kw),
    "GRUCell": lambda lib, **kw: lib.GRUCell(INPUT, HIDDEN, **kw),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,unbatched,with_state,bias", itertools.product(CELLS, [False, True], [False, True], [True, False]))
def test_cells_match_torch(name, unbatched, with_state, bias, dtype):
    torch.manual_seed(6)
    reference = CELLS[name](torch.nn, bias=bias, dtype=dtype)
    ours = CELLS[name](snn, bias=bias, dtype=dtype)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn((INPUT,) if unbatched else (BATCH, INPUT), dtype=dtype)
    h_shape = (HIDDEN,) if unbatched else (BATCH, HIDDEN)
    hx = None
    if with_state:
        hx = (torch.randn(h_shape, dtype=dtype), torch.randn(h_shape, dtype=dtype)) if name == "LSTMCell" else torch.randn(h_shape, dtype=dtype)
    results = []
    for cell in (reference, ours):
        out = cell(x, hx) if hx is not None else cell(x)
        outs = list(out) if isinstance(out, tuple) else [out]
        sum((o * torch.arange(o.numel(), dtype=dtype).reshape(o.shape)).sum() for o in outs).backward()
        results.append((outs, {n: p.grad.clone() for n, p in cell.named_parameters()}))
    (outs_ref, grads_ref), (outs, grads) = results
    for o, o_ref in zip(outs, outs_ref):
        assert o.shape == o_ref.shape
        assert_close(o, o_ref, TOLERANCE[dtype], "cell output")
    for n in grads_ref:
        assert_close(grads[n], grads_ref[n], TOLERANCE[dtype], f"cell grad {n}")


@pytest.mark.parametrize("name", CELLS)
def test_cell_gradcheck(name):
    torch.manual_seed(7)
    cell = CELLS[name](snn, dtype=torch.float64)
    x = torch.randn(3, INPUT, dtype=torch.float64, requires_grad=True)
    h = torch.randn(3, HIDDEN, dtype=torch.float64, requires_grad=True)
    params = [p for _, p in cell.named_parameters()]
    if name == "LSTMCell":
        c = torch.randn(3, HIDDEN, dtype=torch.float64, requires_grad=True)

        def f(x, h, c, *ps):
            return cell(x, (h, c))

        assert torch.autograd.gradcheck(f, (x, h, c, *params))
    else:
        assert torch.autograd.gradcheck(lambda x, h, *ps: cell(x, h), (x, h, *params))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_layer_gradcheck_with_lengths(kind):
    """Backpropagation through time in the scratch loop, masking included, is exact."""
    torch.manual_seed(8)
    layer = getattr(snn, kind)(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)

    def f(x, *params):
        output, _ = layer(x, lengths=[5, 3])
        return output

    assert torch.autograd.gradcheck(f, (x, *layer.parameters()))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_summed_weight_gradient_survives_retain_graph_and_autograd_grad(kind):
    """The scratch loop sums dL/dW_hh over steps in one product at the end of the backward
    sweep; a second backward of a retained graph, and torch.autograd.grad, must see the same."""
    torch.manual_seed(9)
    layer = getattr(snn, kind)(INPUT, HIDDEN, num_layers=2, dtype=torch.float64)
    reference = getattr(torch.nn, kind)(INPUT, HIDDEN, num_layers=2, dtype=torch.float64)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(STEPS, BATCH, INPUT, dtype=torch.float64)

    loss = parity_loss(*layer(x))
    loss.backward(retain_graph=True)
    once = layer.weight_hh_l0.grad.clone()
    loss.backward()
    assert torch.allclose(layer.weight_hh_l0.grad, 2 * once, atol=1e-12)

    expected = torch.autograd.grad(parity_loss(*reference(x)), [reference.weight_hh_l0, reference.weight_hh_l1])
    got = torch.autograd.grad(parity_loss(*layer(x)), [layer.weight_hh_l0, layer.weight_hh_l1])
    for g, e in zip(got, expected):
        assert_close(g, e, 1e-10, "autograd.grad")


def test_frozen_recurrent_weights_and_no_grad():
    torch.manual_seed(10)
    layer = snn.LSTM(INPUT, HIDDEN)
    reference = torch.nn.LSTM(INPUT, HIDDEN)
    reference.load_state_dict(layer.state_dict())
    for module in (layer, reference):
        module.weight_hh_l0.requires_grad_(False)
    x = torch.randn(STEPS, BATCH, INPUT)
    parity_loss(*layer(x)).backward()
    parity_loss(*reference(x)).backward()
    assert layer.weight_hh_l0.grad is None
    assert_close(layer.weight_ih_l0.grad, reference.weight_ih_l0.grad, 1e-5, "frozen W_hh")
    with torch.no_grad():
        assert_close(layer(x)[0], reference(x)[0], 1e-5, "no_grad output")


def test_scratch_under_torch_compile_matches_torch():
    """torch.compile traces the scratch loop, its summed W_hh gradient included."""
    torch.manual_seed(11)
    layer = snn.GRU(3, 4)
    reference = torch.nn.GRU(3, 4)
    reference.load_state_dict(layer.state_dict())
    compiled = torch.compile(layer)
    x = torch.randn(3, 2, 3)
    expected = run(reference, x, None)
    output, state = compiled(x)
    parity_loss(output, state).backward()
    got = (output, [state], {name: p.grad for name, p in layer.named_parameters()})
    compare(expected, {"compiled": got}, 1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("backend", ["scratch", "fused"])
def test_one_step_matches_the_sequence(kind, backend):
    """layer.step, one time step at a time, gives the outputs and state of the whole sequence."""
    torch.manual_seed(12)
    layer = make(kind, snn, torch.float64, num_layers=3, backend=backend)
    x = torch.randn(STEPS, BATCH, INPUT, dtype=torch.float64)
    expected, expected_state = layer(x)
    state = None
    for t in range(STEPS):
        output, state = layer.step(x[t], state)
        assert_close(output, expected[t], 1e-12, f"step {t}")
    for s, e in zip(flatten_state(state), flatten_state(expected_state)):
        assert_close(s, e, 1e-12, "final state")


@pytest.mark.parametrize("backend", ["scratch", "fused"])
def test_one_step_without_bias_matches_the_sequence(backend):
    """The fused LSTM's one-step path has its own code for layers without biases."""
    torch.manual_seed(13)
    layer = snn.LSTM(INPUT, HIDDEN, num_layers=2, bias=False, backend=backend, dtype=torch.float64)
    x = torch.randn(STEPS, BATCH, INPUT, dtype=torch.float64)
    expected, _ = layer(x)
    state = None
    for t in range(STEPS):
        output, state = layer.step(x[t], state)
        assert_close(output, expected[t], 1e-12, f"step {t}")
