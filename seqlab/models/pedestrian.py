"""Where will a pedestrian walk next: an LSTM encoder-decoder over displacements, which may
also look at its neighbours, and may say how unsure it is.

    observed positions (B, T, 2) -> displacements (B, T-1, 2) -> embedding (B, T-1, E)
        -> encoder recurrent layers -> state -> decoder recurrent layers, K steps, each fed
        the displacement it predicted last -> displacements (B, K, 2) -> positions (B, K, 2)

Displacements rather than positions: a walk looks the same wherever in the scene it happens,
so what is learned on one scene carries to another (Alahi et al. 2016, Gupta et al. 2018).

social="attention": the same encoder reads each of the M nearest neighbours' observed steps;
at the last observed step the walker's state asks, with additive attention (Bahdanau et al.
2015, seqlab.nn.attention), which of them matter, each key being a neighbour's state and
where it is and goes relative to the walker:

    k_j = [h_j ; relu(W_p [p_j - p ; v_j - v])]     j = the walker itself (p_j - p = 0), neighbours
    c   = attention(h, k, mask)                     absent neighbours masked; the walker always there
    s_0 = s_enc + W_c c                             the decoder starts from the state, told of the others

W_c starts at zero: the model begins as the plain encoder-decoder and learns what the others add.

head="gaussian": each step is a bivariate Gaussian over the next displacement (Graves 2013,
Alahi et al. 2016): mean mu_k, spreads sigma_k, correlation rho_k. It is trained by its negative
log-likelihood with the true displacements fed in (teacher forcing: the way samples are drawn,
each fed back), plus the ADE of its mean path fed its own means (the deterministic prediction,
trained as the point head's is). Samples are drawn one step at a time, each fed back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError, check_range
from seqlab.models.language_model import RecurrentModelConfig
from seqlab.nn.attention import AdditiveAttention

# Displacements are in metres per 0.4 s, about 0.5: scaled up to unit size for the network.
SCALE = 2.0
SOCIAL = ("none", "attention")
HEADS = ("point", "gaussian")


@dataclass
class PedestrianPredictorConfig(RecurrentModelConfig):
    horizon: int = field(default=12, metadata={"set_by_task": True})
    embedding_size: int = 32
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    social: str = field(default="none", metadata={"choices": SOCIAL})  # look at the neighbours?
    head: str = field(default="point", metadata={"choices": HEADS})  # one path, or a Gaussian per step

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("horizon", self.horizon, 1, 1000)
        if self.social not in SOCIAL:
            raise ConfigError("social", f"must be one of {', '.join(SOCIAL)}, got {self.social!r}")
        if self.head not in HEADS:
            raise ConfigError("head", f"must be one of {', '.join(HEADS)}, got {self.head!r}")


def gaussian(out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The head's 5 outputs (..., 5) -> mean (..., 2), spreads (..., 2) > 0, correlation (...,) in (-1, 1)."""
    return out[..., :2], out[..., 2:4].clamp(-6, 4).exp(), 0.95 * torch.tanh(out[..., 4])


def gaussian_nll(target: Tensor, mean: Tensor, sigma: Tensor, rho: Tensor) -> Tensor:
    """-log N(target; mean, [[sx^2, rho sx sy], [rho sx sy, sy^2]]) for each (...)."""
    z = (target - mean) / sigma  # (..., 2)
    one_minus = 1 - rho**2
    quadratic = (z[..., 0] ** 2 + z[..., 1] ** 2 - 2 * rho * z[..., 0] * z[..., 1]) / one_minus
    return math.log(2 * math.pi) + sigma.log().sum(-1) + 0.5 * one_minus.log() + 0.5 * quadratic


class PedestrianPredictor(nn.Module):
    def __init__(self, config: PedestrianPredictorConfig) -> None:
        super().__init__()
        self.config = config
        e, h = config.embedding_size, config.hidden_size
        self.embed = nn.Linear(2, e)
        self.encoder = config.recurrent_layers()
        self.decoder = config.recurrent_layers()
        self.output = nn.Linear(h, 2 if config.head == "point" else 5)
        if config.social == "attention":
            self.place = nn.Linear(4, e)  # W_p: where a neighbour is and goes, relative to the walker
            self.attention = AdditiveAttention(h, h + e, h)
            self.tell = nn.Linear(h + e, h)  # W_c, from zero: at first the plain encoder-decoder
            nn.init.zeros_(self.tell.weight)
            nn.init.zeros_(self.tell.bias)

    def encode(self, observed: Tensor, neighbours: Tensor | None):
        """observed (B, T, 2), neighbours (B, M, T, 2) NaN where absent -> the decoder's first
        state and the last observed displacement (B, 1, 2), scaled."""
        steps = (observed[:, 1:] - observed[:, :-1]) * SCALE  # (B, T-1, 2)
        output, state = self.encoder(torch.relu(self.embed(steps)))  # (B, T-1, H)
        if self.config.social == "attention":
            context = self.look_around(observed, steps, output[:, -1], neighbours)  # (B, H + E)
            told = self.tell(context)[None]  # (1, B, H): added to every layer's h
            state = (state[0] + told, state[1]) if isinstance(state, tuple) else state + told
        return state, steps[:, -1:]

    def look_around(self, observed: Tensor, steps: Tensor, h: Tensor, neighbours: Tensor | None) -> Tensor:
        """The attention context (B, H + E) over the walker and its neighbours at the last observed step."""
        batch, size = observed.shape[0], self.config.hidden_size
        if neighbours is None or neighbours.shape[1] == 0:
            neighbours = observed.new_full((batch, 0, observed.shape[1], 2), float("nan"))
        m = neighbours.shape[1]
        seen = ~torch.isnan(neighbours[:, :, -1, 0])  # (B, M)
        others = torch.nan_to_num(neighbours)
        their_steps = (others[:, :, 1:] - others[:, :, :-1]) * SCALE  # (B, M, T-1, 2)
        flat = their_steps.reshape(batch * m, -1, 2)  # (B*M, T-1, 2): one sequence per neighbour
        their_h = self.encoder(torch.relu(self.embed(flat)))[0][:, -1].reshape(batch, m, size)  # (B, M, H)
        where = others[:, :, -1] - observed[:, None, -1]  # (B, M, 2) metres from the walker
        going = their_steps[:, :, -1] - steps[:, None, -1]  # (B, M, 2) their last step less the walker's
        relative = torch.cat([where, going], -1)  # (B, M, 4)
        relative = torch.cat([torch.zeros_like(relative[:, :1]), relative], 1)  # (B, 1+M, 4): the walker first
        keys = torch.cat([torch.cat([h[:, None], their_h], 1), torch.relu(self.place(relative))], -1)  # (B, 1+M, H+E)
        mask = torch.cat([torch.ones_like(seen[:, :1]), seen], 1)  # (B, 1+M)
        context, _ = self.attention(h, keys, self.attention.prepare(keys), mask)
        return context

    def forward(self, observed: Tensor, neighbours: Tensor | None = None) -> Tensor:
        """observed (B, T, 2) metres, neighbours (B, M, T, 2) -> predicted positions (B, K, 2)
        metres: the one path of the point head, the mean path of the Gaussian one."""
        return self.roll(observed, *self.encode(observed, neighbours))

    def roll(self, observed: Tensor, state, last: Tensor) -> Tensor:
        """The decoder from its first state, fed its own (mean) steps -> positions (B, K, 2)."""
        predicted = []
        for _ in range(self.config.horizon):
            h, state = self.decoder(torch.relu(self.embed(last)), state)  # (B, 1, H)
            last = last + self.output(h)[..., :2]  # the change of displacement: zero is constant velocity
            predicted.append(last)
        displacements = torch.cat(predicted, dim=1) / SCALE  # (B, K, 2)
        return observed[:, -1:] + displacements.cumsum(dim=1)

    def sample(self, observed: Tensor, neighbours: Tensor | None, count: int,
               generator: torch.Generator | None = None) -> Tensor:
        """count paths (S, B, K, 2) drawn from the Gaussian head, one step at a time."""
        batch = observed.shape[0]
        state, last = self.encode(observed, neighbours)
        # Repeat every walker's state `count` times: rows s*B + b are sample s of walker b.
        state = tuple(part.repeat(1, count, 1) for part in state) if isinstance(state, tuple) else state.repeat(1, count, 1)
        last = last.repeat(count, 1, 1)  # (S*B, 1, 2)
        predicted = []
        for _ in range(self.config.horizon):
            h, state = self.decoder(torch.relu(self.embed(last)), state)
            mean, sigma, rho = gaussian(self.output(h))
            noise = torch.randn(mean.shape, generator=generator, device=mean.device)  # (S*B, 1, 2)
            dx = sigma[..., 0] * noise[..., 0]
            dy = sigma[..., 1] * (rho * noise[..., 0] + (1 - rho**2).sqrt() * noise[..., 1])
            last = last + mean + torch.stack([dx, dy], -1)
            predicted.append(last)
        displacements = torch.cat(predicted, dim=1).reshape(count, batch, -1, 2) / SCALE  # (S, B, K, 2)
        return observed[None, :, -1:] + displacements.cumsum(dim=2)

    def loss(self, observed: Tensor, future: Tensor, neighbours: Tensor | None = None) -> Tensor:
        """Point head: the mean distance (metres) between predicted and true positions, the ADE
        itself. Gaussian head: that of its mean path, plus the mean negative log-likelihood of
        the true displacements, fed the true ones before them."""
        state, last = self.encode(observed, neighbours)
        ade = (self.roll(observed, state, last) - future).norm(dim=-1).mean()
        if self.config.head == "point":
            return ade
        true = torch.cat([observed[:, -1:], future], 1)
        true_steps = (true[:, 1:] - true[:, :-1]) * SCALE  # (B, K, 2)
        fed = torch.cat([last, true_steps[:, :-1]], 1)  # (B, K, 2): the step before each
        h, _ = self.decoder(torch.relu(self.embed(fed)), state)  # (B, K, H)
        mean, sigma, rho = gaussian(self.output(h))
        return ade + gaussian_nll(true_steps, fed + mean, sigma, rho).mean()
