"""The recurrent forecaster: shapes, sorted quantiles, the pinball loss, masked targets, members."""

from __future__ import annotations

import pytest
import torch

from seqlab.errors import ConfigError
from seqlab.models.forecaster import Forecaster, ForecasterConfig


def test_shapes_and_sorted_quantiles():
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(input_size=4, context=12, horizon=5, hidden_size=8, embedding_size=4, members=2))
    out = model(torch.randn(3, 12, 4))
    assert out.shape == (3, 5, 5)
    assert (out[..., 1:] >= out[..., :-1]).all()
    assert len(model.members) == 2


def test_pinball_loss_fits_the_quantiles_of_noise():
    """Trained on pure noise around a constant, the outputs settle at the noise's quantiles."""
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(input_size=2, context=4, horizon=1, hidden_size=8, embedding_size=4,
                                        dropout=0.0, highway=False))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    inputs = torch.zeros(256, 4, 2)
    for _ in range(200):
        targets = torch.randn(256, 1)
        loss = model.loss(inputs, targets, torch.ones(256, 1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    quantiles = model(inputs[:1])[0, 0]
    expected = torch.tensor([-1.96, -1.2816, 0.0, 1.2816, 1.96])
    assert torch.allclose(quantiles, expected, atol=0.25), quantiles


def test_filled_targets_do_not_count():
    model = Forecaster(ForecasterConfig(input_size=2, context=4, horizon=2, hidden_size=8, embedding_size=4))
    inputs, targets = torch.randn(2, 4, 2), torch.zeros(2, 2)
    weights = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    changed = targets.clone()
    changed[:, 1] = 1e6  # a wild value where the weight is 0
    model.eval()
    assert model.loss(inputs, targets, weights).item() == pytest.approx(model.loss(inputs, changed, weights).item())


def test_config_refuses_bad_quantiles():
    with pytest.raises(ConfigError, match="quantiles"):
        ForecasterConfig(quantiles=(0.9, 0.1))


def test_an_anchored_model_adds_its_output_to_the_anchor():
    """With the network's last layer and highway at zero, an anchored forecaster forecasts its
    anchor (the seasonal naive values) at every quantile; unanchored it would forecast 0."""
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(input_size=3, context=6, horizon=4, hidden_size=8, embedding_size=4,
                                        members=2, anchor="seasonal"))
    for member in model.members:
        torch.nn.init.zeros_(member.head[-1].weight), torch.nn.init.zeros_(member.head[-1].bias)
        torch.nn.init.zeros_(member.highway.weight), torch.nn.init.zeros_(member.highway.bias)
    anchor = torch.randn(2, 4)
    out = model(torch.randn(2, 6, 3), anchor)
    assert torch.allclose(out, anchor.unsqueeze(-1).expand(2, 4, 5))
    assert model.members[0].highway.in_features == 6 + 4  # the anchor is read, not only added


def test_the_anchor_is_given_exactly_when_the_config_says():
    anchored = Forecaster(ForecasterConfig(input_size=2, context=4, horizon=2, hidden_size=8, anchor="seasonal"))
    plain = Forecaster(ForecasterConfig(input_size=2, context=4, horizon=2, hidden_size=8))
    inputs = torch.randn(1, 4, 2)
    with pytest.raises(ValueError, match="needs its anchor"):
        anchored(inputs)
    with pytest.raises(ValueError, match="takes no anchor"):
        plain.loss(inputs, torch.zeros(1, 2), torch.ones(1, 2), torch.zeros(1, 2))
    with pytest.raises(ConfigError, match="anchor"):
        ForecasterConfig(anchor="ets")
