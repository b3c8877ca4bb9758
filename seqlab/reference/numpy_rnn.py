"""A vanilla RNN and an LSTM in NumPy, with backpropagation through time written by hand.

This is the lecture's BPTT slide (section 4) as code: run the cell forward over the
sequence and keep what each step computed, then walk backwards over time carrying the
gradient of the loss with respect to the state, dL/dh_t (and dL/dc_t for the LSTM), one
chain-rule step per line. No autograd and no torch: `gradient_check` proves the gradients
against centred finite differences, and tests/reference/test_numpy_rnn.py holds seqlab's torch cells
to them on the same weights.

Shapes (time first, as torch.nn's default):

    xs       (T, B, I)   inputs, one-hot or real-valued
    targets  (T, B)      integer classes in [0, V)
    h0, c0   (B, H)      initial state
    logits   (T, B, V)   y_t = W_hy h_t + b_hy, one per step (many-to-many)

Parameters are a plain dict name -> ndarray, named and laid out as torch.nn names them, so
they copy straight into torch.nn.RNNCell / LSTMCell (and seqlab's cells):

    weight_ih  (G*H, I)   the lecture's W_xh          G = 1 for the RNN, 4 for the LSTM
    weight_hh  (G*H, H)   the lecture's W_hh          LSTM gate order: i, f, g, o
    bias_ih    (G*H,)     torch keeps two biases whose sum is the lecture's b
    bias_hh    (G*H,)
    weight_hy  (V, H)     the lecture's W_hy, stored as (out, in) like torch.nn.Linear,
    bias_hy    (V,)       so y_t = W_hy h_t + b_hy is the lecture's ŷ_t = W_hy^T h_t

The loss is the lecture's "total loss is the sum over steps" (section 2): the sum over the T
time steps of the softmax cross-entropy averaged over the batch,

    L = sum_t  (1/B) sum_b  -log softmax(y_t[b])[targets[t, b]],

which is what `sum(F.cross_entropy(logits[t], targets[t]) for t in range(T))` gives in torch.

Typical use:

    params = init_rnn_params(input_size=4, hidden_size=8, output_size=4, rng=0)
    loss, grads, h_last = rnn_loss_and_grads(params, xs, targets, h0)
    # or, to look at how the gradient travels back through time (section 4):
    cache = rnn_forward(params, xs, h0)
    loss, dlogits = softmax_cross_entropy(cache["logits"], targets)
    grads, dh_norms = rnn_backward(params, cache, dlogits)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Params = dict[str, np.ndarray]

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hy", "bias_hy")


# ----------------------------------------------------------------------------------------
# Small pieces
# ----------------------------------------------------------------------------------------


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, written through tanh so that large |z| cannot overflow exp."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis. Subtracting the max changes nothing mathematically
    (softmax is shift-invariant) but keeps exp from overflowing for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and its gradient for logits (T, B, V) and integer targets (T, B).

    Returns (L, dL/dlogits) with L the sum over time of the batch-mean cross-entropy (see
    the module docstring). The gradient of softmax cross-entropy with respect to the logits
    is the well-known p - onehot(target); the 1/B comes from the batch mean.
    """
    batch = targets.shape[-1]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    # log softmax = shifted - log(sum exp(shifted)): stable, and no log(0) for tiny p.
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)  # (T, B, 1)
    loss = -picked.sum() / batch

    probs = np.exp(log_probs)  # p_t, (T, B, V)
    onehot = np.zeros_like(probs)
    np.put_along_axis(onehot, targets[..., None], 1.0, axis=-1)
    dlogits = (probs - onehot) / batch  # dL/dy_t = (p_t - onehot(target_t)) / B
    return float(loss), dlogits


def _init_params(gates: int, input_size: int, hidden_size: int, output_size: int, rng) -> Params:
    """Uniform(-1/sqrt(H), 1/sqrt(H)) for every parameter, as torch.nn initialises RNNs
    (and nn.Linear(H, V) for the output layer), so the scales match a freshly built cell."""
    rng = np.random.default_rng(rng)
    bound = 1.0 / np.sqrt(hidden_size)
    shapes = {
        "weight_ih": (gates * hidden_size, input_size),
        "weight_hh": (gates * hidden_size, hidden_size),
        "bias_ih": (gates * hidden_size,),
        "bias_hh": (gates * hidden_size,),
        "weight_hy": (output_size, hidden_size),
        "bias_hy": (output_size,),
    }
    return {name: rng.uniform(-bound, bound, size=shape) for name, shape in shapes.items()}


def _check_inputs(who: str, params: Params, gates: int, xs, targets, states) -> None:
    """Bad input gets an error naming the argument, the shape expected and the shape got."""
    for name in PARAM_NAMES:
        if name not in params:
            raise KeyError(f"{who}: params is missing {name!r}")
    hidden_size = params["weight_hh"].shape[1]
    input_size = params["weight_ih"].shape[1]
    output_size = params["weight_hy"].shape[0]
    if params["weight_hh"].shape != (gates * hidden_size, hidden_size):
        raise ValueError(
            f"{who}: expected weight_hh of shape {(gates * hidden_size, hidden_size)}, "
            f"got {params['weight_hh'].shape}"
        )
    if xs.ndim != 3 or xs.shape[2] != input_size:
        raise ValueError(f"{who}: expected xs of shape (T, B, {input_size}), got {xs.shape}")
    steps, batch = xs.shape[:2]
    if steps == 0:
        raise ValueError(f"{who}: xs must hold at least one time step, got shape {xs.shape}")
    for name, state in states.items():
        if state.shape != (batch, hidden_size):
            raise ValueError(
                f"{who}: expected {name} of shape {(batch, hidden_size)}, got {state.shape}"
            )
    if targets is not None:
        if targets.shape != (steps, batch):
            raise ValueError(f"{who}: expected targets of shape {(steps, batch)}, got {targets.shape}")
        if not np.issubdtype(targets.dtype, np.integer):
            raise TypeError(f"{who}: targets must be integers, got dtype {targets.dtype}")
        if targets.min() < 0 or targets.max() >= output_size:
            raise ValueError(
                f"{who}: targets must lie in [0, {output_size}), "
                f"got values from {targets.min()} to {targets.max()}"
            )


# ----------------------------------------------------------------------------------------
# Vanilla RNN (lecture section 2):  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
#                                   y_t = W_hy h_t + b_hy
# ----------------------------------------------------------------------------------------


def init_rnn_params(input_size: int, hidden_size: int, output_size: int, rng=None) -> Params:
    """Float64 parameters of a tanh RNN with an output layer; rng is a Generator or a seed."""
    return _init_params(1, input_size, hidden_size, output_size, rng)


def rnn_forward(params: Params, xs: np.ndarray, h0: np.ndarray) -> dict[str, np.ndarray]:
    """Run the RNN over xs (T, B, I) from h0 (B, H); return the cache BPTT needs.

    cache: xs, h0, hs (T, B, H) with hs[t] = h_t, logits (T, B, V).
    """
    _check_inputs("rnn_forward", params, 1, xs, None, {"h0": h0})
    W_ih, W_hh, W_hy = params["weight_ih"], params["weight_hh"], params["weight_hy"]
    steps = xs.shape[0]
    hs = np.empty((steps,) + h0.shape, dtype=np.result_type(xs, h0, W_hh))
    h = h0
    for t in range(steps):
        # The same weights at every step: parameters are shared across time (section 1).
        h = np.tanh(xs[t] @ W_ih.T + params["bias_ih"] + h @ W_hh.T + params["bias_hh"])
        hs[t] = h
    logits = hs @ W_hy.T + params["bias_hy"]  # (T, B, V): an output at every step
    return {"xs": xs, "h0": h0, "hs": hs, "logits": logits}


def rnn_backward(params: Params, cache: dict, dlogits: np.ndarray) -> tuple[Params, np.ndarray]:
    """Backpropagation through time for the RNN, given dL/dy_t for every step (T, B, V).

    Returns (grads, dh_norms). grads holds dL/d(every parameter), under the parameter's
    name, and dL/dh0 under "h0". dh_norms[t] is the Frobenius norm of dL/dh_t over the
    batch: the gradient reaching step t from its own output and from every later step.
    Read backwards from t = T-1, it shows the product of W_hh factors of section 4
    shrinking or growing.
    """
    xs, h0, hs = cache["xs"], cache["h0"], cache["hs"]
    W_hh, W_hy = params["weight_hh"], params["weight_hy"]
    grads = {name: np.zeros_like(params[name]) for name in PARAM_NAMES}
    steps = xs.shape[0]
    dh_norms = np.zeros(steps)

    # The output layer is applied to each h_t separately, so its gradients are sums over
    # time of the per-step gradients (shared weights: one gradient, summed over uses).
    grads["weight_hy"] = np.einsum("tbv,tbh->vh", dlogits, hs)  # dL/dW_hy = sum_t dy_t^T h_t
    grads["bias_hy"] = dlogits.sum(axis=(0, 1))  # dL/db_hy = sum_t sum_b dy_t

    dh_next = np.zeros_like(h0)  # dL/dh_t through h_{t+1}; nothing comes from beyond T
    for t in reversed(range(steps)):
        h_t = hs[t]
        h_prev = hs[t - 1] if t > 0 else h0
        # h_t feeds two things, its output y_t and the next state h_{t+1}: add both paths.
        dh = dlogits[t] @ W_hy + dh_next  # dL/dh_t = W_hy^T dy_t + dL/dh_t|from t+1
        dh_norms[t] = np.linalg.norm(dh)
        da = dh * (1.0 - h_t**2)  # through tanh: d tanh(a)/da = 1 - tanh(a)^2 = 1 - h_t^2
        # a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh; each weight is used at every step,
        # so its gradient accumulates over t.
        grads["weight_ih"] += da.T @ xs[t]  # dL/dW_ih += da_t^T x_t
        grads["weight_hh"] += da.T @ h_prev  # dL/dW_hh += da_t^T h_{t-1}
        grads["bias_ih"] += da.sum(axis=0)  # dL/db_ih += sum over batch of da_t
        grads["bias_hh"] += da.sum(axis=0)  # (the two biases always get the same gradient)
        # One more factor of W_hh (and of tanh') on the way back: this is the product of
        # section 4 that explodes when the factors are > 1 and vanishes when they are < 1.
        dh_next = da @ W_hh  # dL/dh_{t-1} (the part through h_t) = W_hh^T da_t

    grads["h0"] = dh_next  # what is left after the last step back is dL/dh_0
    return grads, dh_norms


def rnn_loss(params: Params, xs: np.ndarray, targets: np.ndarray, h0: np.ndarray) -> float:
    """The loss alone (forward pass only): what `gradient_check` differentiates numerically."""
    _check_inputs("rnn_loss", params, 1, xs, targets, {"h0": h0})
    cache = rnn_forward(params, xs, h0)
    loss, _ = softmax_cross_entropy(cache["logits"], targets)
    return loss


def rnn_loss_and_grads(
    params: Params, xs: np.ndarray, targets: np.ndarray, h0: np.ndarray
) -> tuple[float, Params, np.ndarray]:
    """Forward, loss, BPTT. Returns (loss, grads, h_last); grads as in `rnn_backward`.

    h_last is the state after the last step, to carry into the next chunk of a long
    sequence (truncated BPTT: the gradient stops there, the state does not).
    """
    _check_inputs("rnn_loss_and_grads", params, 1, xs, targets, {"h0": h0})
    cache = rnn_forward(params, xs, h0)
    loss, dlogits = softmax_cross_entropy(cache["logits"], targets)
    grads, _ = rnn_backward(params, cache, dlogits)
    return loss, grads, cache["hs"][-1]


# ----------------------------------------------------------------------------------------
# LSTM (lecture section 5), torch.nn's gate order i, f, g, o:
#     i_t = sigmoid(z_i)   f_t = sigmoid(z_f)   g_t = tanh(z_g)   o_t = sigmoid(z_o)
#     with z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh   (B, 4H), split in four
#     c_t = f_t * c_{t-1} + i_t * g_t
#     h_t = o_t * tanh(c_t)
#     y_t = W_hy h_t + b_hy
# ----------------------------------------------------------------------------------------


def init_lstm_params(input_size: int, hidden_size: int, output_size: int, rng=None) -> Params:
    """Float64 parameters of an LSTM (gates stacked i, f, g, o) with an output layer."""
    return _init_params(4, input_size, hidden_size, output_size, rng)


def lstm_forward(
    params: Params, xs: np.ndarray, h0: np.ndarray, c0: np.ndarray
) -> dict[str, np.ndarray]:
    """Run the LSTM over xs (T, B, I) from (h0, c0); return the cache BPTT needs.

    cache: xs, h0, c0, and per step (T, B, H) each: i, f, g, o, c, tanh_c, hs; logits (T, B, V).
    """
    _check_inputs("lstm_forward", params, 4, xs, None, {"h0": h0, "c0": c0})
    W_ih, W_hh, W_hy = params["weight_ih"], params["weight_hh"], params["weight_hy"]
    H = W_hh.shape[1]
    steps = xs.shape[0]
    kept = {name: [] for name in ("i", "f", "g", "o", "c", "tanh_c", "hs")}  # per step, for BPTT
    h, c = h0, c0
    for t in range(steps):
        z = xs[t] @ W_ih.T + params["bias_ih"] + h @ W_hh.T + params["bias_hh"]  # (B, 4H)
        i = sigmoid(z[:, 0 * H : 1 * H])  # store: how much of the candidate to write
        f = sigmoid(z[:, 1 * H : 2 * H])  # forget: how much of c_{t-1} to keep
        g = np.tanh(z[:, 2 * H : 3 * H])  # candidate values
        o = sigmoid(z[:, 3 * H : 4 * H])  # output: which parts of the state to show
        c = f * c + i * g  # update, additive in c_{t-1}
        tanh_c = np.tanh(c)
        h = o * tanh_c  # output, a filtered cell state
        for name, value in zip(kept, (i, f, g, o, c, tanh_c, h)):
            kept[name].append(value)
    cache = {name: np.stack(values) for name, values in kept.items()}  # each (T, B, H)
    cache["logits"] = cache["hs"] @ W_hy.T + params["bias_hy"]  # (T, B, V)
    cache.update(xs=xs, h0=h0, c0=c0)
    return cache


def lstm_backward(params: Params, cache: dict, dlogits: np.ndarray) -> tuple[Params, np.ndarray]:
    """Backpropagation through time for the LSTM, given dL/dy_t for every step (T, B, V).

    Returns (grads, dh_norms): dL/d(every parameter) under its name, dL/dh0 under "h0",
    dL/dc0 under "c0"; dh_norms[t] is the Frobenius norm of dL/dh_t over the batch.
    Two gradients travel back through time here: dh_next through the gates and W_hh, as in
    the RNN, and dc_next along the cell state, multiplied only by f_t at each step (no
    weight matrix), which is why it survives long distances (section 5).
    """
    xs, h0, c0, hs, cs = cache["xs"], cache["h0"], cache["c0"], cache["hs"], cache["c"]
    W_hh, W_hy = params["weight_hh"], params["weight_hy"]
    grads = {name: np.zeros_like(params[name]) for name in PARAM_NAMES}
    steps = xs.shape[0]
    dh_norms = np.zeros(steps)

    # Output layer, as in the RNN: summed over the steps that share it.
    grads["weight_hy"] = np.einsum("tbv,tbh->vh", dlogits, hs)  # dL/dW_hy = sum_t dy_t^T h_t
    grads["bias_hy"] = dlogits.sum(axis=(0, 1))  # dL/db_hy = sum_t sum_b dy_t

    dh_next = np.zeros_like(h0)  # dL/dh_t through step t+1
    dc_next = np.zeros_like(c0)  # dL/dc_t through step t+1
    for t in reversed(range(steps)):
        i, f, g, o = cache["i"][t], cache["f"][t], cache["g"][t], cache["o"][t]
        tanh_c = cache["tanh_c"][t]
        h_prev = hs[t - 1] if t > 0 else h0
        c_prev = cs[t - 1] if t > 0 else c0

        dh = dlogits[t] @ W_hy + dh_next  # dL/dh_t: from the output y_t and from step t+1
        dh_norms[t] = np.linalg.norm(dh)
        # h_t = o_t * tanh(c_t)
        do = dh * tanh_c  # dL/do_t = dL/dh_t * tanh(c_t)
        dc = dh * o * (1.0 - tanh_c**2) + dc_next  # dL/dc_t: through h_t, plus from c_{t+1}
        # c_t = f_t * c_{t-1} + i_t * g_t
        df = dc * c_prev  # dL/df_t = dL/dc_t * c_{t-1}
        di = dc * g  # dL/di_t = dL/dc_t * g_t
        dg = dc * i  # dL/dg_t = dL/dc_t * i_t
        # Back through the gate nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2.
        dz = np.concatenate(
            [
                di * i * (1.0 - i),  # dL/dz_i
                df * f * (1.0 - f),  # dL/dz_f
                dg * (1.0 - g**2),  # dL/dz_g
                do * o * (1.0 - o),  # dL/dz_o
            ],
            axis=1,
        )  # (B, 4H), stacked in the gate order i, f, g, o, like the weights
        # z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh: accumulate over the shared steps.
        grads["weight_ih"] += dz.T @ xs[t]  # dL/dW_ih += dz_t^T x_t
        grads["weight_hh"] += dz.T @ h_prev  # dL/dW_hh += dz_t^T h_{t-1}
        grads["bias_ih"] += dz.sum(axis=0)
        grads["bias_hh"] += dz.sum(axis=0)
        dh_next = dz @ W_hh  # dL/dh_{t-1} = W_hh^T dz_t: through every gate
        dc_next = dc * f  # dL/dc_{t-1} = dL/dc_t * f_t: the additive path, no W_hh

    grads["h0"] = dh_next
    grads["c0"] = dc_next
    return grads, dh_norms


def lstm_loss(
    params: Params, xs: np.ndarray, targets: np.ndarray, h0: np.ndarray, c0: np.ndarray
) -> float:
    """The loss alone (forward pass only), for the numerical gradient."""
    _check_inputs("lstm_loss", params, 4, xs, targets, {"h0": h0, "c0": c0})
    cache = lstm_forward(params, xs, h0, c0)
    loss, _ = softmax_cross_entropy(cache["logits"], targets)
    return loss


def lstm_loss_and_grads(
    params: Params, xs: np.ndarray, targets: np.ndarray, h0: np.ndarray, c0: np.ndarray
) -> tuple[float, Params, tuple[np.ndarray, np.ndarray]]:
    """Forward, loss, BPTT. Returns (loss, grads, (h_last, c_last)); grads as in `lstm_backward`."""
    _check_inputs("lstm_loss_and_grads", params, 4, xs, targets, {"h0": h0, "c0": c0})
    cache = lstm_forward(params, xs, h0, c0)
    loss, dlogits = softmax_cross_entropy(cache["logits"], targets)
    grads, _ = lstm_backward(params, cache, dlogits)
    return loss, grads, (cache["hs"][-1], cache["c"][-1])


# ----------------------------------------------------------------------------------------
# Gradient check
# ----------------------------------------------------------------------------------------


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |analytic - numeric| / max(max |analytic|, max |numeric|).

    The largest elementwise difference, relative to the size of the gradient as a whole.
    The elementwise ratio |a - n| / (|a| + |n|) is the more common textbook choice, but
    it blows up on entries that are nearly zero, where the finite difference's own
    rounding error (about machine epsilon * |L| / eps, ~1e-10 here) is all there is to
    compare: it would flag correct code. Scaling by the largest entry keeps the test
    sensitive to every real mistake (a wrong term moves entries of the gradient's size)
    while staying blind to rounding noise.
    """
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    if scale == 0.0:
        return 0.0  # both exactly zero: they agree
    return float(np.abs(analytic - numeric).max() / scale)


def gradient_check(
    f: Callable[[dict[str, np.ndarray]], float],
    inputs: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    eps: float = 1e-6,
) -> dict[str, float]:
    """Compare analytic gradients with centred finite differences; return name -> error.

    f maps the dict `inputs` (parameters, and any state such as h0 whose gradient you want
    checked) to a scalar loss. For every entry x of every array in `inputs`,

        dL/dx  ~=  (f(x + eps) - f(x - eps)) / (2 eps),

    whose error is O(eps^2), against O(eps) for the one-sided difference. Arrays are
    perturbed in place and restored, so f sees the perturbed value through the same dict.
    Use float64: in float32 the rounding error of f swamps a difference of 1e-6.
    Returns, per name, `relative_error(grads[name], numeric)`.
    """
    errors = {}
    for name, value in inputs.items():
        numeric = np.zeros_like(value, dtype=np.float64)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + eps
            loss_plus = f(inputs)
            value[index] = original - eps
            loss_minus = f(inputs)
            value[index] = original  # restore before the next entry
            numeric[index] = (loss_plus - loss_minus) / (2.0 * eps)
        errors[name] = relative_error(grads[name], numeric)
    return errors
