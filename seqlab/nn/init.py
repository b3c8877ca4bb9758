"""Initialisations for recurrent layers: identity (IRNN), orthogonal, LSTM forget-gate bias.

Lecture section 4 names parameter initialisation as a remedy for vanishing gradients: with the
recurrent weights at the identity and the biases at zero, a ReLU RNN starts by copying its state
forward, so the gradient through time neither shrinks nor grows (Le, Jaitly & Hinton 2015, "A
Simple Way to Initialize Recurrent Networks of Rectified Linear Units"). An orthogonal W_hh has
the same property for its singular values (Saxe et al. 2014). For an LSTM, a forget-gate bias of
1 keeps f_t near 1 at the start, so the cell state and its gradient carry over (Gers et al.
2000; Jozefowicz, Zaremba & Sutskever 2015).

Every function works by parameter name, so it applies to torch.nn.RNN/LSTM/GRU, their Cell
versions, seqlab's equivalents (same names), and to any model containing them:

    cells:   weight_ih, weight_hh, bias_ih, bias_hh
    layers:  weight_ih_l0, weight_hh_l0, bias_ih_l0, ..., weight_hh_l1_reverse, ...

A weight_hh stacks one (H, H) block per gate: 1 for an RNN, 4 for an LSTM (i, f, g, o), 3 for a
GRU (r, z, n). Each function changes the module in place, without recording gradients, and
returns it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import Tensor

# "weight_hh" (a cell) or "weight_hh_l<k>" / "weight_hh_l<k>_reverse" (a layer); the suffix
# after "weight_hh" names the matching weight_ih, bias_ih and bias_hh.
_RECURRENT_WEIGHT = re.compile(r"weight_hh((?:_l\d+)?(?:_reverse)?)")


@dataclass
class _RecurrentWeights:
    """One layer (one direction) of a recurrent module: where its parameters live."""

    owner: torch.nn.Module
    suffix: str
    gates: int
    hidden_size: int

    def get(self, kind: str) -> Tensor | None:
        """The parameter `kind` ("weight_ih", "bias_hh", ...) of this layer, or None."""
        return getattr(self.owner, kind + self.suffix, None)

    def gate_blocks(self, kind: str) -> list[Tensor]:
        """Views of `kind` split per gate: (H, ...) each, in the module's gate order."""
        return list(self.get(kind).split(self.hidden_size, dim=0))


def _recurrent_layers(module: torch.nn.Module) -> list[_RecurrentWeights]:
    layers = []
    seen = set()
    for owner in module.modules():
        for name, weight in owner.named_parameters(recurse=False):
            match = _RECURRENT_WEIGHT.fullmatch(name)
            if match is None or id(weight) in seen:
                continue
            seen.add(id(weight))
            # weight_hh is (gates * H, H), or (gates * H, P) for an LSTM with a projection.
            hidden_size = getattr(owner, "hidden_size", weight.shape[1])
            gates = weight.shape[0] // hidden_size
            layers.append(_RecurrentWeights(owner, match.group(1), gates, hidden_size))
    if not layers:
        raise ValueError(
            f"{type(module).__name__} has no recurrent weights (no parameter named weight_hh or "
            f"weight_hh_l<k>); these initialisations are for RNN, LSTM and GRU layers and cells"
        )
    return layers


def identity_(module: torch.nn.Module, gain: float = 1.0) -> torch.nn.Module:
    """Set every gate block of every recurrent weight W_hh to gain * I; nothing else changes."""
    with torch.no_grad():
        for layer in _recurrent_layers(module):
            for block in layer.gate_blocks("weight_hh"):
                block.copy_(gain * torch.eye(*block.shape, dtype=block.dtype, device=block.device))
    return module


def irnn_(module: torch.nn.Module, gain: float = 1.0, input_std: float = 0.001) -> torch.nn.Module:
    """The IRNN initialisation of Le, Jaitly & Hinton (2015), meant for a ReLU RNN.

    Recurrent weights gain * I, biases 0, input weights drawn from N(0, input_std^2) (the
    paper's 0.001): the network starts by carrying its state forward unchanged.
    """
    identity_(module, gain)
    with torch.no_grad():
        for layer in _recurrent_layers(module):
            layer.get("weight_ih").normal_(0.0, input_std)
            for kind in ("bias_ih", "bias_hh"):
                bias = layer.get(kind)
                if bias is not None:
                    bias.zero_()
    return module


def orthogonal_(module: torch.nn.Module, gain: float = 1.0) -> torch.nn.Module:
    """Make every gate block of every W_hh a (gain times) random orthogonal matrix.

    Per block rather than for the stacked matrix, so that each gate's own recurrence keeps
    its singular values at `gain` (Saxe et al. 2014).
    """
    with torch.no_grad():
        for layer in _recurrent_layers(module):
            for block in layer.gate_blocks("weight_hh"):
                block.copy_(torch.nn.init.orthogonal_(torch.empty_like(block), gain=gain))
    return module


def forget_gate_bias_(module: torch.nn.Module, value: float = 1.0) -> torch.nn.Module:
    """Set each LSTM's forget-gate bias so that bias_ih_f + bias_hh_f == value.

    The whole value goes into bias_ih and bias_hh's forget part is zeroed, so the sum is exact.
    Only LSTMs (4 gates, order i, f, g, o) are touched; a module without one is an error.
    """
    lstms = [layer for layer in _recurrent_layers(module) if layer.gates == 4]
    if not lstms:
        raise ValueError(
            f"forget_gate_bias_ needs an LSTM (4 gates: i, f, g, o); {type(module).__name__} "
            f"has no LSTM weights"
        )
    with torch.no_grad():
        for layer in lstms:
            bias_ih, bias_hh = layer.get("bias_ih"), layer.get("bias_hh")
            if bias_ih is None or bias_hh is None:
                raise ValueError(
                    f"forget_gate_bias_: {type(layer.owner).__name__} was built with bias=False, "
                    f"so it has no forget-gate bias to set"
                )
            forget = slice(layer.hidden_size, 2 * layer.hidden_size)  # i, [f], g, o
            bias_ih[forget] = value
            bias_hh[forget] = 0.0
    return module


def chrono_(module: torch.nn.Module, max_lag: int, generator: torch.Generator | None = None) -> torch.nn.Module:
    """Chrono initialisation of an LSTM's gate biases (Tallec & Ollivier 2018, "Can recurrent
    neural networks warp time?"): forget bias b_f = log(u), u ~ Uniform(1, max_lag - 1), and
    input bias b_i = -b_f.

    A forget gate sigmoid(b_f) = 1 - 1/(1 + u) keeps its cell's memory for about u steps, so
    the units start with memory spans spread up to the longest dependency expected,
    `max_lag`, instead of the ~2 steps of a zero bias or ~4 of a bias of 1. As in
    forget_gate_bias_, the values go into bias_ih and the matching part of bias_hh is zeroed.
    """
    if max_lag < 3:
        raise ValueError(f"chrono_ needs max_lag >= 3 (u is drawn from [1, max_lag - 1]), got {max_lag}")
    lstms = [layer for layer in _recurrent_layers(module) if layer.gates == 4]
    if not lstms:
        raise ValueError(f"chrono_ needs an LSTM (4 gates: i, f, g, o); {type(module).__name__} has no LSTM weights")
    with torch.no_grad():
        for layer in lstms:
            bias_ih, bias_hh = layer.get("bias_ih"), layer.get("bias_hh")
            if bias_ih is None or bias_hh is None:
                raise ValueError(f"chrono_: {type(layer.owner).__name__} was built with bias=False")
            size = layer.hidden_size
            u = 1 + (max_lag - 2) * torch.rand(size, generator=generator, dtype=torch.float64)  # U(1, max_lag - 1)
            forget_bias = torch.log(u).to(bias_ih.dtype)
            bias_ih[size : 2 * size] = forget_bias  # i, [f], g, o
            bias_ih[:size] = -forget_bias
            bias_hh[: 2 * size] = 0.0
    return module
