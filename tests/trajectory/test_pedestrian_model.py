"""The pedestrian model: its attention sees neighbours (and only real ones), its Gaussian head
is the distribution it claims, and each learns what only it can on synthetic walks."""

import math

import numpy as np
import torch

from seqlab.models.pedestrian import PedestrianPredictor, PedestrianPredictorConfig, gaussian, gaussian_nll

SMALL = dict(embedding_size=16, hidden_size=16, horizon=6)


def model(**options):
    torch.manual_seed(0)
    return PedestrianPredictor(PedestrianPredictorConfig(**SMALL, **options))


def standing_walkers(batch, generator, neighbours=2):
    """Walkers who stood still for 4 steps, then follow their nearest neighbour's velocity (its
    last observed step): nothing in a walker's own track says where it will go."""
    observed = torch.zeros(batch, 4, 2)
    velocity = 0.4 * torch.nn.functional.normalize(torch.randn(batch, 2, generator=generator), dim=-1)
    start = torch.randn(batch, neighbours, 2, generator=generator) + 3.0  # (B, M, 2)
    start[:, 0] = 0.5 * start[:, 0] / start[:, 0].norm(dim=-1, keepdim=True)  # the leader is nearest
    others = torch.randn(batch, neighbours, 1, 2, generator=generator) * 0.4  # the rest walk anywhere
    others[:, 0, 0] = velocity
    near = start[:, :, None] + others * torch.arange(4.0)[None, None, :, None]  # (B, M, 4, 2)
    future = velocity[:, None] * torch.arange(1.0, 7.0)[None, :, None]  # (B, 6, 2)
    return observed, future, near


def test_attention_starts_as_the_plain_model_and_ignores_absent_neighbours():
    plain, social = model(), model(social="attention")
    observed, _, near = standing_walkers(8, torch.Generator().manual_seed(1))
    observed = observed + torch.randn(observed.shape, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(plain(observed), social(observed, near))  # W_c = 0 at the start
    torch.nn.init.normal_(social.tell.weight)
    moved = social(observed, near)
    assert not torch.allclose(moved, plain(observed), atol=1e-3)  # once told, the neighbours matter
    padded = torch.cat([near, torch.full_like(near[:, :1], float("nan"))], 1)  # an absent third neighbour
    assert torch.allclose(social(observed, padded), moved, atol=1e-6)
    nobody = torch.full_like(near, float("nan"))
    assert torch.isfinite(social(observed, nobody)).all()  # only the walker to attend to


def train(net, steps=60, seed=3):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        observed, future, near = standing_walkers(64, generator)
        optimizer.zero_grad()
        net.loss(observed, future, near).backward()
        optimizer.step()
    observed, future, near = standing_walkers(256, torch.Generator().manual_seed(99))
    with torch.no_grad():
        return (net(observed, near) - future).norm(dim=-1).mean().item()


def test_only_the_model_that_sees_its_neighbours_learns_to_follow_one():
    plain, social = train(model()), train(model(social="attention"))
    assert plain > 1.0  # no better than standing still: the direction is anyone's guess
    assert social < 0.5 * plain


def test_the_gaussian_nll_is_the_bivariate_normal_density():
    out = torch.tensor([[0.3, -0.2, math.log(0.5), math.log(2.0), 0.7]])
    mean, sigma, rho = gaussian(out)
    covariance = torch.tensor([[sigma[0, 0] ** 2, rho[0] * sigma[0, 0] * sigma[0, 1]],
                               [rho[0] * sigma[0, 0] * sigma[0, 1], sigma[0, 1] ** 2]])
    target = torch.tensor([[1.0, 0.5]])
    expected = -torch.distributions.MultivariateNormal(mean[0], covariance).log_prob(target[0])
    assert torch.allclose(gaussian_nll(target, mean, sigma, rho), expected, atol=1e-5)


def test_samples_follow_the_heads_gaussian():
    net = model(head="gaussian")
    with torch.no_grad():  # a head that says the same whatever it sees: mean, spreads, correlation
        net.output.weight.zero_()
        net.output.bias.copy_(torch.tensor([0.2, -0.1, math.log(0.3), math.log(0.6), math.atanh(0.5 / 0.95)]))
    observed = torch.zeros(1, 4, 2)
    with torch.no_grad():
        drawn = net.sample(observed, None, 20000, torch.Generator().manual_seed(0))  # (S, 1, K, 2) metres
        path = net(observed)[0].numpy()
    first = drawn[:, 0, 0].numpy() * 2.0  # the first step, in the model's scaled units
    assert drawn.shape == (20000, 1, 6, 2)
    assert np.allclose(first.mean(0), [0.2, -0.1], atol=0.02)
    assert np.allclose(first.std(0), [0.3, 0.6], atol=0.02)
    assert abs(np.corrcoef(first.T)[0, 1] - 0.5) < 0.03
    # the mean path feeds back its means: displacement k is k times the mean change (from standing)
    assert np.allclose(np.diff(path, axis=0, prepend=0)[:, 0] * 2, 0.2 * np.arange(1, 7), atol=1e-5)


def test_the_gaussian_head_learns_how_unsure_to_be():
    """Walkers at one speed, each turned by its own random angle after the observed steps: the
    trained head's spread grows with the horizon, and best of 20 draws beats its mean path."""
    net = model(head="gaussian")
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)

    def walks(batch):
        angle = 0.4 * torch.randn(batch, 1, generator=generator)
        t = torch.arange(1.0, 7.0)[None]
        observed = torch.stack([0.4 * torch.arange(-3.0, 1.0), torch.zeros(4)], -1).expand(batch, 4, 2)
        future = torch.stack([0.4 * t * torch.cos(angle), 0.4 * t * torch.sin(angle)], -1)  # (B, 6, 2)
        return observed, future

    for _ in range(200):
        observed, future = walks(64)
        optimizer.zero_grad()
        net.loss(observed, future).backward()
        optimizer.step()
    observed, future = walks(200)
    with torch.no_grad():
        mean_ade = (net(observed) - future).norm(dim=-1).mean()
        drawn = net.sample(observed, None, 20, torch.Generator().manual_seed(1))  # (20, B, 6, 2)
        best_ade = (drawn - future[None]).norm(dim=-1).mean(-1).min(0).values.mean()
        spread = drawn.std(0).norm(dim=-1).mean(0)  # (6,)
    assert best_ade < 0.6 * mean_ade
    assert spread[-1] > 3 * spread[0]
