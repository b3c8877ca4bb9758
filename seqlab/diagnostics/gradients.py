"""Gradient flow through time, measured (lecture sections 4 and 5).

The lecture's argument: dL/dh_0 holds a product of many per-step Jacobians
dh_t/dh_{t-1} = diag(act'(.)) W_hh, so the gradient vanishes when those factors are below 1
and explodes when they are above. Three views of that, for any seqlab RNN, LSTM or GRU:

- `hidden_gradient_norms`: the gradient itself, ||dL/dh_t|| for every step t;
- `jacobian_norms`: the per-step factors, ||dh_t/dh_{t-1}||;
- `spectral_radius`: the weights alone, max |eigenvalue| of each W_hh (gate) block.

Both backends work: `layer.step` runs the lecture's cell equations (scratch) or torch's
one-step cell kernels (fused), and either exposes every step's state, which the sequence
kernels do not. `jacobian_norms` calls seqlab's cell step functions on the layer's own
weights, so it reads the same numbers whichever backend the layer was built with.
Layers must be unidirectional: a reverse direction has no single "previous step".

Input x has the layer's layout: (T, B, F), or (B, T, F) if the layer is batch_first.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlab.nn.recurrent import CELL_STEPS, Recurrent
from seqlab.nn.registry import CELLS

# The gate blocks stacked in each weight_hh, by layer mode, in torch.nn's order (see
# seqlab/nn/cells): None for a single block. From seqlab.nn.registry, the one table of cells.
_GATES = {cell.mode: cell.gate_names or None for cell in CELLS.values()}

LOSSES = ("last", "sum")


def hidden_gradient_norms(
    layer: Recurrent,
    x: Tensor,
    loss: str = "last",
    target: Tensor | None = None,
    seed: int = 0,
) -> Tensor:
    """||dL/dh_t|| for t = 0 .. T-1, where h_t is the top layer's output at step t.

    The loss, per sequence b (sequences do not interact, so dL/dh_t^b is sequence b's own):
        loss="last": L_b = w . h_{T-1}^b                  (only the final state is read)
        loss="sum":  L_b = sum_t w . h_t^b                (every step is read)
    with w a fixed readout vector (H,) drawn from N(0, 1/H) by a generator seeded with `seed`
    (the same w for every step and sequence), so equal seeds give equal numbers. If `target`
    is given, the readout becomes a squared error instead: 0.5 ||h_{T-1}^b - target^b||^2 for
    "last" (target (B, H)), or sum_t 0.5 ||h_t^b - target_t^b||^2 for "sum" (target shaped
    like the layer's output, (T, B, H) or (B, T, H) if batch_first).

    dL/dh_t is the total derivative: everything h_t affects later, through the recurrence
    (for the LSTM, c_t is a separate variable, so this is the gradient reaching h_t).
    Returns a tensor (T,): the norm ||dL/dh_t^b||_2 averaged over the batch, mean_b, so it is
    the typical per-sequence gradient, independent of the batch size. With "last",
    result[-1] / result[0] is how much the gradient shrank over T-1 steps of lag.

    Over long lags the gradient of a vanilla RNN underflows float32 (to exactly 0, so a
    ratio is inf); run the layer and x in float64 (layer.double(), x.double()) to see how far
    it really falls.

    Dropout between layers applies if the layer is in training mode; call layer.eval() for
    dropout-free numbers. The layer's parameters' .grad is left untouched.
    """
    sequence = _check(layer, x)  # (T, B, F)
    if loss not in LOSSES:
        raise ValueError(f"hidden_gradient_norms: loss must be one of {LOSSES}, got {loss!r}")
    steps, batch = sequence.shape[0], sequence.shape[1]
    hidden = layer.hidden_size
    if target is not None:
        target = _check_target(layer, target, loss, steps, batch)  # (B, H) or (T, B, H)

    # Unroll one step at a time so that every h_t is a tensor of its own in the graph.
    states: list[Tensor] = []
    state = None
    with torch.enable_grad():
        for t in range(steps):
            h_t, state = layer.step(sequence[t], state)  # (B, H)
            states.append(h_t)

        if target is None:
            generator = torch.Generator().manual_seed(seed)
            readout = torch.randn(hidden, generator=generator, dtype=x.dtype) / hidden**0.5
            readout = readout.to(x.device)  # (H,)
            read = lambda h, t: (h @ readout).sum()  # noqa: E731  sum over b of w . h^b
        else:
            if loss == "last":
                read = lambda h, t: 0.5 * (h - target).pow(2).sum()  # noqa: E731
            else:
                read = lambda h, t: 0.5 * (h - target[t]).pow(2).sum()  # noqa: E731
        read_steps = [steps - 1] if loss == "last" else range(steps)
        total = sum(read(states[t], t) for t in read_steps)
        # autograd.grad, not backward(): the gradients w.r.t. the states are all we want, and
        # the parameters' .grad (perhaps mid-training) stays as it was.
        grads = torch.autograd.grad(total, states)  # T tensors (B, H)
    return torch.stack([g.norm(dim=-1).mean() for g in grads]).detach()


def jacobian_norms(layer: Recurrent, x: Tensor) -> Tensor:
    """Spectral norm (largest singular value) of the per-step Jacobian of the first layer,
    for the first sequence in the batch: J_t = d s_t / d s_{t-1} for t = 1 .. T-1.

    s_t is the state the first layer carries from step to step: h_t for the RNN and GRU, and
    for the LSTM the whole state (h_t, c_t), so J_t is (2H, 2H) and includes the cell path
    dc_t/dc_{t-1} = diag(f_t) that the lecture credits with carrying gradients (section 5).
    The gradient reaching s_0 from step T-1 is the product of these Jacobians, so its norm is
    at most the product of these numbers: below 1 on average means vanishing gradients.

    Returns a tensor (T-1,); the states along the way come from a no-grad run of the cell
    equations from a zero initial state, and each J_t from torch.autograd.functional.jacobian
    of one cell step at that state.
    """
    sequence = _check(layer, x)  # (T, B, F)
    if sequence.shape[0] < 2:
        raise ValueError(f"jacobian_norms: needs at least 2 time steps, got {sequence.shape[0]}")
    step = CELL_STEPS[layer.mode]
    hidden = layer.hidden_size
    weight_ih = layer.weight_ih_l0.detach()
    weight_hh = layer.weight_hh_l0.detach()
    bias_ih = _detached(getattr(layer, "bias_ih_l0", None))
    bias_hh = _detached(getattr(layer, "bias_hh_l0", None))
    recurrent = partial(F.linear, weight=weight_hh, bias=bias_hh)  # h -> W_hh h + b_hh
    x_proj = F.linear(sequence[:, :1].detach(), weight_ih, bias_ih)  # (T, 1, G*H), sequence 0
    is_lstm = layer.mode == "LSTM"

    def one_step(t: int, s: Tensor) -> Tensor:
        """s_{t-1} (S,) -> s_t (S,), with S = H, or 2H for the LSTM's (h, c) laid end to end."""
        state = (s[:hidden].unsqueeze(0), s[hidden:].unsqueeze(0)) if is_lstm else s.unsqueeze(0)  # (1, H)
        _, new_state = step(x_proj[t], state, recurrent)
        return torch.cat(new_state, dim=-1).squeeze(0) if is_lstm else new_state.squeeze(0)

    norms = []
    with torch.no_grad():
        s = one_step(0, torch.zeros(2 * hidden if is_lstm else hidden, dtype=x.dtype, device=x.device))
    for t in range(1, sequence.shape[0]):
        jacobian = torch.autograd.functional.jacobian(partial(one_step, t), s, vectorize=True)  # (S, S)
        norms.append(torch.linalg.matrix_norm(jacobian, ord=2))
        with torch.no_grad():
            s = one_step(t, s)
    return torch.stack(norms)


def spectral_radius(layer: torch.nn.Module) -> dict[str, float]:
    """max |eigenvalue| of every recurrent matrix W_hh, per gate block for gated cells.

    Keys are parameter names: "weight_hh_l0" for an RNN, "weight_hh_l0[i]" .. "[o]" for the
    LSTM's four blocks (i, f, g, o) and "weight_hh_l1[r]" .. "[n]" for the GRU's three.
    Each block is what multiplies h_{t-1} inside one gate, so its radius says whether that
    gate's recurrence, left alone over many steps, grows (> 1) or decays (< 1).
    Works for bidirectional layers too ("weight_hh_l0_reverse", ...): no time loop here.
    """
    if not isinstance(layer, Recurrent):
        raise ValueError(f"spectral_radius: expected a seqlab RNN, LSTM or GRU, got {type(layer).__name__}")
    gates = _GATES[layer.mode]
    radii: dict[str, float] = {}
    for name, weight in layer.named_parameters():
        if not name.startswith("weight_hh"):
            continue
        # float64: eigenvalues of a non-symmetric matrix are sensitive to rounding.
        blocks = weight.detach().double().split(layer.hidden_size, dim=0)  # (H, H) each
        labels = [name] if gates is None else [f"{name}[{gate}]" for gate in gates]
        for label, block in zip(labels, blocks):
            radii[label] = torch.linalg.eigvals(block).abs().max().item()
    return radii


# ------------------------------------------------------------------------------ helpers
def _check(layer: Recurrent, x: Tensor) -> Tensor:
    """Check the layer and input; return x time-major, (T, B, F)."""
    if not isinstance(layer, Recurrent):
        raise ValueError(f"expected a seqlab RNN, LSTM or GRU layer, got {type(layer).__name__}")
    if layer.bidirectional:
        raise ValueError(
            "gradient-through-time diagnostics need a unidirectional layer: a bidirectional "
            "layer's reverse direction has no single previous step"
        )
    if not isinstance(x, Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    layout = "(B, T, F)" if layer.batch_first else "(T, B, F)"
    if x.dim() != 3 or x.shape[-1] != layer.input_size:
        raise ValueError(
            f"expected x of shape {layout} with F = input_size = {layer.input_size}, got {tuple(x.shape)}"
        )
    if 0 in x.shape:
        raise ValueError(f"x is empty: shape {tuple(x.shape)}")
    return x.transpose(0, 1) if layer.batch_first else x  # (B, T, F) -> (T, B, F)


def _check_target(layer: Recurrent, target: Tensor, loss: str, steps: int, batch: int) -> Tensor:
    """Check target's shape; return it as (B, H) for "last" or time-major (T, B, H) for "sum"."""
    hidden = layer.hidden_size
    if loss == "last":
        expected = (batch, hidden)
    else:
        expected = (batch, steps, hidden) if layer.batch_first else (steps, batch, hidden)
    if tuple(target.shape) != expected:
        raise ValueError(f"target for loss={loss!r} must have shape {expected}, got {tuple(target.shape)}")
    if loss == "sum" and layer.batch_first:
        target = target.transpose(0, 1)  # (B, T, H) -> (T, B, H)
    return target.detach()


def _detached(tensor: Tensor | None) -> Tensor | None:
    return None if tensor is None else tensor.detach()
