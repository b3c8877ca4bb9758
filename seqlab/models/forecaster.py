"""A recurrent forecaster: an LSTM reads a context window, a head writes every step of the
horizon at once (direct multi-step), as quantiles.

    inputs (B, C, F) -> Linear (B, C, E) -> recurrent layers (B, C, H) -> h_C (B, H)
        -> MLP -> (B, horizon, Q) quantiles            plus a linear map of the C values
                                                       themselves (the "highway")

The F inputs of a step: the value, scaled by its context window (minus the window's mean,
over its standard deviation, as DeepAR and N-BEATS-style forecasters scale each window, so
that one model reads series of any level), whether the value was observed or filled into a
gap, and calendar covariates (seqlab.data.series.calendar_features). The outputs are in the
same scaled units; the task scales them back.

The highway is LSTNet's autoregressive component (Lai et al. 2018): a linear forecast from
the context values, to which the network adds what is not linear. The quantiles are trained
with the pinball loss, so the 0.1 and 0.9 outputs bound an 80% interval. `members` > 1 holds
that many independent networks in one module and averages their quantiles (an ensemble of
seeds: each starts from its own initial weights, and the losses, summed, never mix their
gradients).

With `anchor="seasonal"` each window also brings the seasonal naive forecast of its horizon
(B, horizon), scaled as its context: the head and the highway read it beside the state, and the
outputs are added to it, so the network learns what seasonal naive misses (the hybrid idea of
ES-RNN, Smyl 2020, the M4 winner, with seasonal naive in place of its exponential smoothing).
`anchor="climatology"` does the same over the mean of all earlier seasons (for weather a month
ahead, the network then forecasts the anomaly, as meteorologists do).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, check_range
from seqlab.forecast.baselines import ANCHOR_FORECASTS
from seqlab.forecast.transforms import TRANSFORMS
from seqlab.models.language_model import MAX_WIDTH, RecurrentModelConfig

QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)  # seqlab.forecast.metrics reads the same five
ANCHORS = ("none", *ANCHOR_FORECASTS)  # "seasonal", "climatology": seqlab.forecast.baselines


@dataclass
class ForecasterConfig(RecurrentModelConfig):
    # Filled in by the task from its data: the inputs per step, the context and the horizon.
    input_size: int = field(default=2, metadata={"set_by_task": True})
    context: int = field(default=1, metadata={"set_by_task": True})
    horizon: int = field(default=1, metadata={"set_by_task": True})
    quantiles: tuple[float, ...] = field(default=QUANTILES, metadata={"set_by_task": True})
    embedding_size: int = 32  # the inputs' projection, read by the recurrent layers
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.1
    highway: bool = True  # add a linear forecast from the context's values (LSTNet)
    members: int = 1  # independent networks whose quantiles are averaged
    # "seasonal": forecast the residual of seasonal naive (the value one season before each
    # step, given with the inputs), which the network also reads; "climatology": of the mean of
    # every earlier season at each step (seqlab.forecast.baselines.climatology_values); "none":
    # the values alone.
    anchor: str = field(default="none", metadata={"choices": ANCHORS})
    # The scale the network reads and forecasts the series on (seqlab.forecast.transforms):
    # "sqrt" or "log" even out swings that grow with the level; the task maps quantiles back.
    transform: str = field(default="none", metadata={"choices": TRANSFORMS})

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("input_size", self.input_size, 1, MAX_WIDTH)
        check_range("context", self.context, 1, 1_000_000)
        check_range("horizon", self.horizon, 1, 1_000_000)
        check_range("members", self.members, 1, 64)
        if self.anchor not in ANCHORS:
            raise ConfigError("anchor", f"must be one of {', '.join(ANCHORS)}, got {self.anchor!r}")
        if self.transform not in TRANSFORMS:
            raise ConfigError("transform", f"must be one of {', '.join(TRANSFORMS)}, got {self.transform!r}")
        self.quantiles = tuple(float(q) for q in self.quantiles)
        if list(self.quantiles) != sorted(set(self.quantiles)) or not all(0 < q < 1 for q in self.quantiles):
            raise ConfigError("quantiles", f"must rise strictly inside (0, 1), got {self.quantiles}")


class ForecastNetwork(nn.Module):
    """One member: inputs (B, C, F) -> scaled quantiles (B, horizon, Q)."""

    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        outputs = config.horizon * len(config.quantiles)
        anchor = config.horizon if config.anchor != "none" else 0  # the anchor's values, read beside the state
        self.inputs = nn.Linear(config.input_size, config.embedding_size)
        self.recurrent = config.recurrent_layers()
        self.head = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_size + anchor, config.hidden_size),
            nn.ReLU(),
            nn.Linear(config.hidden_size, outputs),
        )
        self.highway = nn.Linear(config.context + anchor, outputs) if config.highway else None
        if config.anchor != "none":
            # Anchored, the network starts as its anchor: corrections begin at zero and grow only
            # as far as the data supports them, so the checkpoint chosen on validation can never
            # be much worse than the anchor alone (which a randomly started head can be).
            for layer in (self.head[-1], self.highway):
                if layer is not None:
                    nn.init.zeros_(layer.weight), nn.init.zeros_(layer.bias)

    def forward(self, inputs: Tensor, anchor: Tensor | None = None) -> Tensor:
        """inputs (B, C, F), anchor (B, horizon) or None -> scaled quantiles (B, horizon, Q)."""
        batch = inputs.shape[0]
        x = torch.relu(self.inputs(inputs))  # (B, C, E)
        h, _ = self.recurrent(x)  # (B, C, H)
        last, values = h[:, -1], inputs[:, :, 0]  # the state after the last step (B, H); the scaled values (B, C)
        if anchor is not None:
            last, values = torch.cat([last, anchor], dim=1), torch.cat([values, anchor], dim=1)
        y = self.head(last)  # (B, horizon * Q)
        if self.highway is not None:
            y = y + self.highway(values)  # (B, C [+ horizon]) -> (B, horizon * Q)
        y = y.view(batch, self.config.horizon, len(self.config.quantiles))  # (B, horizon, Q)
        # ES-RNN's idea (Smyl 2020): the network adds what the simple forecast misses.
        return y if anchor is None else y + anchor.unsqueeze(-1)


class Forecaster(nn.Module):
    def __init__(self, config: ForecasterConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(ForecastNetwork(config) for _ in range(config.members))
        self.register_buffer("levels", torch.tensor(config.quantiles), persistent=False)

    def forward(self, inputs: Tensor, anchor: Tensor | None = None) -> Tensor:
        """inputs (B, C, F), anchor (B, horizon) when config.anchor is not "none" -> quantiles
        (B, horizon, Q), scaled, sorted along Q (a quantile never below a lower one's)."""
        self._check(anchor)
        quantiles = torch.stack([member(inputs, anchor) for member in self.members]).mean(dim=0)  # (B, horizon, Q)
        return quantiles.sort(dim=-1).values

    def loss(self, inputs: Tensor, targets: Tensor, weights: Tensor, anchor: Tensor | None = None) -> Tensor:
        """Mean pinball loss of each member, summed over the members: targets (B, horizon), scaled;
        weights (B, horizon), 0 where a target was filled into a gap (not an actual value)."""
        self._check(anchor)
        total = inputs.new_zeros(())
        for member in self.members:
            difference = targets.unsqueeze(-1) - member(inputs, anchor)  # (B, horizon, Q)
            pinball = torch.maximum(self.levels * difference, (self.levels - 1) * difference).mean(dim=-1)  # (B, horizon)
            total = total + (pinball * weights).sum() / weights.sum().clamp(min=1)
        return total

    def _check(self, anchor: Tensor | None) -> None:
        if (anchor is None) != (self.config.anchor == "none"):
            raise ValueError(f"a forecaster with anchor {self.config.anchor!r} "
                             f"{'takes no' if anchor is not None else 'needs its'} anchor values")
