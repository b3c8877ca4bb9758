"""The recurrent cells a user can name, in one table, and the one function that builds them.

Every task that lets a user pick a cell (`--cell lstm`) looks the name up here, so a name
means the same layer, nonlinearity and initialisation everywhere, and a table or a plot
calls it by the same display name:

    name   display    layer      nonlinearity  gate blocks  its own initialisation
    rnn    tanh RNN   seqlab.nn.RNN   tanh      1            torch's, uniform(-1/sqrt(H), 1/sqrt(H))
    irnn   IRNN       seqlab.nn.RNN   relu      1            identity W_hh, zero biases (Le et al. 2015)
    lstm   LSTM       seqlab.nn.LSTM  (gates)   4 (i f g o)  forget-gate bias 1 (Gers et al. 2000)
    gru    GRU        seqlab.nn.GRU   (gates)   3 (r z n)    torch's

`recurrent_layer(cell, input_size, hidden_size, **layer_kwargs)` builds one, with either
the cell's own initialisation (init="default"), torch.nn's unchanged (init="torch"), or,
for the LSTM, the chrono initialisation (init="chrono", Tallec & Ollivier 2018).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from seqlab.errors import ConfigError
from seqlab.nn.init import chrono_, forget_gate_bias_, irnn_
from seqlab.nn.recurrent import GRU, LSTM, RNN, Recurrent

# How a layer may be initialised: the cell's own way, torch.nn's, or chrono (LSTM only).
INITS = ("default", "torch", "chrono")


@dataclass(frozen=True)
class Cell:
    """One nameable cell: what it is called, which seqlab layer it is, how it starts."""

    name: str  # what a user types: "lstm"
    display: str  # what tables and plots say: "LSTM"
    layer: type[Recurrent]  # seqlab.nn.LSTM
    nonlinearity: str | None  # "tanh" or "relu" for the plain RNNs; None for gated cells
    gates: int  # (H, H) blocks stacked in each weight_hh: 1, 4 (LSTM) or 3 (GRU)
    gate_names: str  # the blocks in torch.nn's order: "ifgo", "rzn"; "" for a single block
    init: str  # the cell's own initialisation, in words
    initialise: Callable[[torch.nn.Module], torch.nn.Module] | None  # applies it; None: torch's stands

    @property
    def mode(self) -> str:
        """The layer's mode as torch.nn.RNNBase names it: RNN_TANH, RNN_RELU, LSTM or GRU."""
        if self.nonlinearity is not None:
            return f"RNN_{self.nonlinearity.upper()}"
        return self.layer.MODE


def _forget_gate_bias_one(layer: torch.nn.Module) -> torch.nn.Module:
    return forget_gate_bias_(layer, 1.0)


# The order is the order of every table and plot: the plain RNN, its identity-initialised
# ReLU variant, then the two gated cells.
CELLS: dict[str, Cell] = {
    cell.name: cell
    for cell in (
        Cell("rnn", "tanh RNN", RNN, "tanh", 1, "", "torch's uniform(-1/sqrt(H), 1/sqrt(H))", None),
        Cell("irnn", "IRNN", RNN, "relu", 1, "", "identity W_hh, zero biases, N(0, 0.001^2) W_ih (Le et al. 2015)", irnn_),
        Cell("lstm", "LSTM", LSTM, None, 4, "ifgo", "forget-gate bias 1 (Gers et al. 2000)", _forget_gate_bias_one),
        Cell("gru", "GRU", GRU, None, 3, "rzn", "torch's uniform(-1/sqrt(H), 1/sqrt(H))", None),
    )
}


def get_cell(name: str) -> Cell:
    """The registry's entry for `name`; a ConfigError naming the choices if there is none."""
    try:
        return CELLS[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name, say a list
        raise ConfigError("cell", f"must be one of {', '.join(CELLS)}, got {name!r}") from None


def display_name(name: str) -> str:
    """"lstm" -> "LSTM": what tables and plots call the cell."""
    return get_cell(name).display


def recurrent_layer(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    init: str = "default",
    chrono_lag: int | None = None,
    **layer_kwargs,
) -> Recurrent:
    """Build the seqlab layer a cell name stands for, initialised.

    `layer_kwargs` go to the layer unchanged: num_layers, batch_first, dropout, bidirectional,
    bias, backend ("scratch", the layer's default, or "fused"), device, dtype. The
    nonlinearity is the cell's own ("rnn" is tanh, "irnn" ReLU), not a keyword.

    init="default"  the cell's own initialisation (CELLS[cell].init): identity for the IRNN,
                    forget-gate bias 1 for the LSTM, torch's for the tanh RNN and the GRU;
    init="torch"    torch.nn's initialisation, unchanged (refused for the IRNN, which is
                    defined by its identity initialisation);
    init="chrono"   an LSTM whose forget-gate biases spread its memory spans up to
                    `chrono_lag` steps (Tallec & Ollivier 2018; seqlab.nn.init.chrono_).

    Weights come from torch's global generator: the layer's own draw first, then the
    initialisation's (the IRNN's input weights, chrono's spans), so a seed fixes both.
    """
    spec = get_cell(cell)
    if init not in INITS:
        raise ConfigError("init", f"must be one of {', '.join(INITS)}, got {init!r}")
    if init == "chrono":
        if spec.name != "lstm":
            raise ConfigError("init", f"chrono is for the LSTM (its forget gates), not {spec.name!r}")
        if chrono_lag is None or chrono_lag < 3:
            # chrono_ draws spans from [1, chrono_lag - 1]: below 3 there is nothing to spread.
            raise ConfigError("chrono_lag", f"must be at least 3 steps with init='chrono', got {chrono_lag}")
    elif chrono_lag is not None:
        raise ConfigError("chrono_lag", f"is for init='chrono', not init={init!r}")
    if init == "torch" and spec.name == "irnn":
        raise ConfigError("init", "'torch' would make the IRNN a plain ReLU RNN; the IRNN is its identity initialisation")
    if "nonlinearity" in layer_kwargs:
        raise ConfigError("nonlinearity", f"is fixed by the cell name ({spec.name!r}); choose rnn (tanh) or irnn (ReLU)")

    if spec.nonlinearity is not None:
        layer_kwargs["nonlinearity"] = spec.nonlinearity
    layer = spec.layer(input_size, hidden_size, **layer_kwargs)
    if init == "chrono":
        return chrono_(layer, chrono_lag)
    if init == "default" and spec.initialise is not None:
        return spec.initialise(layer)
    return layer
