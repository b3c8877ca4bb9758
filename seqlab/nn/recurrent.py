"""Recurrent layers: the time loop over a cell (lecture sections 2 and 4).

`RNN`, `LSTM` and `GRU` take torch.nn's constructor arguments, return what torch.nn returns
and hold torch.nn's parameters under torch.nn's names (`weight_ih_l0`, `bias_hh_l1_reverse`,
...), so one state_dict loads into seqlab or torch.nn alike. Two backends run the same
parameters:

- ``backend="scratch"`` (default): the loop below, one cell step per time step, with
  autograd doing backpropagation through time along the unrolled graph.
- ``backend="fused"``: torch's own kernels (oneDNN on a CPU, cuDNN on a GPU), the exact
  calls torch.nn makes. Switching is a constructor argument, not a fork: both read the same
  parameters, and the parity tests hold one to the other.

Shapes (time-major unless batch_first=True; as in torch.nn, batch_first does not apply to
the state):
    input   (T, B, F) or (B, T, F), or unbatched (T, F), or a PackedSequence
    output  (T, B, D*H) or (B, T, D*H), or unbatched (T, D*H)
    state   (L*D, B, H), or unbatched (L*D, H); a tuple (h, c) for the LSTM
with L = num_layers and D = 2 if bidirectional else 1.

Padded input also takes ``lengths=`` (one per sequence): steps past a sequence's length
leave its state alone and output zeros, and the final state is the one at its last real
step, exactly as if the batch had been packed.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seqlab.nn._checks import check_like, check_shape, check_tensor
from seqlab.nn.cells import gru_step, lstm_step, rnn_relu_step, rnn_tanh_step

State = Tensor | tuple[Tensor, Tensor]
StepFn = Callable[[Tensor, State, Callable[[Tensor], Tensor]], tuple[Tensor, State]]

BACKENDS = ("scratch", "fused")

# Each mode's cell step (from seqlab/nn/cells) and the torch kernel that fuses the same layer.
CELL_STEPS: dict[str, StepFn] = {
    "RNN_TANH": rnn_tanh_step,
    "RNN_RELU": rnn_relu_step,
    "LSTM": lstm_step,
    "GRU": gru_step,
}
_FUSED = {"RNN_TANH": _VF.rnn_tanh, "RNN_RELU": _VF.rnn_relu, "LSTM": _VF.lstm, "GRU": _VF.gru}
_FUSED_CELLS = {"RNN_TANH": torch.rnn_tanh_cell, "RNN_RELU": torch.rnn_relu_cell, "LSTM": torch.lstm_cell, "GRU": torch.gru_cell}


def recur(
    step: StepFn,
    x_proj: Tensor,
    state: State,
    recurrent: Callable[[Tensor], Tensor],
    mask: Tensor | None = None,
    reverse: bool = False,
) -> tuple[Tensor, State]:
    """Run one cell over time: the network of lecture section 2, unrolled.

    x_proj (T, B, G*H) holds W_xh x_t + b_ih for every step; recurrent(h) = W_hh h + b_hh;
    state is the state before the first step; mask (T, B, 1), if given, is True where a
    step is real. Returns the outputs (T, B, H) and the final state. Backpropagation
    through time is autograd walking this loop backwards, one step at a time.
    """
    # unbind, not x_proj[t]: indexing would make backward build a full (T, B, G*H) gradient
    # for every step and add them up, T times the work; unbind's backward stacks once.
    inputs = x_proj.unbind(0)  # T tensors (B, G*H)
    real_steps = mask.unbind(0) if mask is not None else None  # T tensors (B, 1)
    steps = range(len(inputs))
    outputs: list[Tensor] = list(inputs)  # placeholders, each replaced below
    for t in reversed(steps) if reverse else steps:
        output, new_state = step(inputs[t], state, recurrent)
        if real_steps is not None:
            # Past a sequence's end (a padding step) the state is carried unchanged and the
            # output is zero. Running backwards, the state therefore stays at its initial
            # value until the sequence's last real step, where the reverse pass starts.
            real = real_steps[t]  # (B, 1)
            new_state = _where(real, new_state, state)
            output = torch.where(real, output, 0.0)
        state = new_state
        outputs[t] = output
    return torch.stack(outputs), state


def _recurrent_product(state: State, weight_hh: Tensor, bias_hh: Tensor | None):
    """The initial state and the function h -> W_hh h + b_hh for one run of `recur`.

    Backpropagation through time sums the recurrent weight's gradient over the steps:
    dL/dW_hh = sum_t dL/dz_t h_{t-1}^T, with z_t = W_hh h_{t-1} (lecture section 4).
    Autograd, left alone, makes that sum one outer product per step, each as large as
    W_hh, plus an addition of W_hh's size per step: most of the backward's time when the
    batch is small. Here each step's backward only passes dL/dh_{t-1} = W_hh^T dL/dz_t on
    and notes (dL/dz_t, h_{t-1}); the initial state goes through a node whose backward,
    which autograd runs last, makes the whole sum in one matrix product. The numbers are
    the same (the parity tests compare them with torch.nn), and torch.compile traces it
    like any other autograd function. When W_hh needs no gradient, the plain product is used.
    """
    if not (torch.is_grad_enabled() and weight_hh.requires_grad):
        return state, partial(F.linear, weight=weight_hh, bias=bias_hh)
    ledger: list[tuple[Tensor, Tensor]] = []
    weight = weight_hh.detach()  # (G*H, H), for dL/dh = dL/dz W
    # W^T laid out row by row, once per sequence: BLAS multiplies (B, H) by a contiguous
    # (H, G*H) matrix about 1.5x faster than by a transposed view when B is small.
    weight_t = weight.t().contiguous()
    h0 = state[0] if isinstance(state, tuple) else state
    h0 = _SumWeightGradient.apply(h0, weight_hh, ledger)
    initial = (h0, state[1]) if isinstance(state, tuple) else h0

    def recurrent(h: Tensor) -> Tensor:
        z = _NotedProduct.apply(h, weight, weight_t, ledger)  # W_hh h
        return z if bias_hh is None else z + bias_hh

    return initial, recurrent


class _NotedProduct(torch.autograd.Function):
    """z = W h, whose backward returns dL/dh and notes (dL/dz, h) for W's gradient."""

    @staticmethod
    def forward(ctx, h: Tensor, weight: Tensor, weight_t: Tensor, ledger: list) -> Tensor:
        ctx.save_for_backward(h, weight)
        ctx.ledger = ledger
        return h @ weight_t  # (B, H) @ (H, G*H)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_z: Tensor):
        h, weight = ctx.saved_tensors
        ctx.ledger.append((grad_z, h))
        return grad_z @ weight, None, None, None  # dL/dh = dL/dz W


class _SumWeightGradient(torch.autograd.Function):
    """The identity on the initial state h_0, whose backward, reached only after every
    step's backward, turns the noted (dL/dz_t, h_{t-1}) into dL/dW_hh in one product."""

    @staticmethod
    def forward(ctx, h0: Tensor, weight_hh: Tensor, ledger: list) -> Tensor:
        ctx.ledger = ledger
        return h0.clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_h0: Tensor):
        # (The ledger always holds something here: the gradient of h_0 exists only once
        # step 1's product has passed its gradient back.)
        grads, inputs = zip(*ctx.ledger)
        ctx.ledger.clear()  # a second backward (retain_graph=True) notes afresh
        grad_weight = torch.cat(grads).t() @ torch.cat(inputs)  # (G*H, T*B) @ (T*B, H)
        return grad_h0, grad_weight, None


def _where(condition: Tensor, new: State, old: State) -> State:
    if isinstance(new, tuple):
        return tuple(torch.where(condition, n, o) for n, o in zip(new, old))  # type: ignore[return-value]
    return torch.where(condition, new, old)


class Recurrent(torch.nn.RNNBase):
    """A stack of recurrent layers over one kind of cell; see the module docstring.

    Subclasses fix MODE ("RNN_TANH", "RNN_RELU", "LSTM" or "GRU"). The parameters and
    their initialisation come from torch.nn.RNNBase, so a seqlab layer built after
    ``torch.manual_seed(s)`` holds the same numbers as torch.nn's.
    """

    MODE: str

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        backend: str = "scratch",
        device=None,
        dtype=None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        super().__init__(
            self.MODE,
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )
        self.backend = backend

    def extra_repr(self) -> str:
        return super().extra_repr() + f", backend={self.backend!r}"

    # ----------------------------------------------------------------------------- forward
    def forward(self, input, hx: State | None = None, lengths: Tensor | Sequence[int] | None = None):
        """Returns (output, h_n), or (output, (h_n, c_n)) for the LSTM, as torch.nn does."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, lengths)
        x, batched = self._check_input(input)
        batch_dim = 0 if self.batch_first else 1
        steps, batch = x.shape[1 - batch_dim], x.shape[batch_dim]
        state = self._check_state(hx, batch, batched, x)
        if lengths is not None:
            if not batched:
                raise ValueError(f"{self._name}: lengths= needs batched (3-D) input")
            lengths = self._check_lengths(lengths, steps, batch)

        if self.backend == "fused":
            output, h_n = self._fused_padded(x, state, lengths)
        else:
            sequence = x.transpose(0, 1) if self.batch_first else x  # (B, T, F) -> (T, B, F)
            output, h_n = self._scratch(sequence, state, lengths)
            if self.batch_first:
                output = output.transpose(0, 1)  # (T, B, D*H) -> (B, T, D*H)

        if not batched:
            output = output.squeeze(batch_dim)
            h_n = _map_state(h_n, lambda s: s.squeeze(1))  # (L*D, 1, H) -> (L*D, H)
        return output, h_n

    def _forward_packed(self, packed: PackedSequence, hx: State | None, lengths):
        if lengths is not None:
            raise ValueError(f"{self._name}: lengths= is for padded input; a PackedSequence carries its own")
        data = packed.data  # (sum of lengths, F)
        self._check_features(data)
        batch = int(packed.batch_sizes[0])
        # As in torch.nn, hx is in the caller's batch order, not the packed (sorted) order.
        state = self._check_state(hx, batch, True, data)
        if self.backend == "fused":
            sorted_state = _permute(state, packed.sorted_indices)
            result = _FUSED[self.mode](
                data, packed.batch_sizes, sorted_state, self._weights(), self.bias,
                self.num_layers, float(self.dropout), self.training, self.bidirectional,
            )
            output = PackedSequence(result[0], packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
            return output, _permute(self._state_from(result), packed.unsorted_indices)
        padded, lengths = pad_packed_sequence(packed)  # (T, B, F) in the caller's order
        output, h_n = self._scratch(padded, state, lengths)
        return _repack(output, lengths, packed), h_n

    def step(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One time step through every layer: x (B, F) -> output (B, H) and the new state
        (L, B, H), for generating one token at a time. Unidirectional layers only.

        The sequence kernels are no use here: they pay a set-up cost on every call (several
        milliseconds on a CPU for one step of a 512-unit LSTM), which a token-by-token
        sampler would pay at every token. So the scratch backend runs the cells' step
        functions, and the fused backend torch's one-step cell kernels (torch.nn.LSTMCell's).
        """
        if self.bidirectional:
            raise ValueError(f"{self._name}.step: a bidirectional layer needs the whole sequence")
        if x.dim() != 2 or x.shape[-1] != self.input_size:
            raise ValueError(f"{self._name}.step: expected x of shape (B, {self.input_size}), got {tuple(x.shape)}")
        state = self._check_state(state, x.shape[0], True, x)
        step = CELL_STEPS[self.mode]
        layer_input = x
        finals: list[State] = []
        # Each layer's state, split once (one operation per state tensor, not one per layer).
        if isinstance(state, tuple):
            layer_states: list[State] = list(zip(state[0].unbind(0), state[1].unbind(0)))
        else:
            layer_states = list(state.unbind(0))
        for layer in range(self.num_layers):
            weight_ih, weight_hh, bias_ih, bias_hh = self._layer_weights(layer, 0)
            if self.backend == "fused":
                final = _FUSED_CELLS[self.mode](layer_input, layer_states[layer], weight_ih, weight_hh, bias_ih, bias_hh)
                layer_input = final[0] if isinstance(final, tuple) else final
            else:
                recurrent = partial(F.linear, weight=weight_hh, bias=bias_hh)  # h -> W_hh h + b_hh
                layer_input, final = step(F.linear(layer_input, weight_ih, bias_ih), layer_states[layer], recurrent)
            finals.append(final)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, _stack(finals)

    # ----------------------------------------------------------------------- the two paths
    def _scratch(self, x: Tensor, state: State, lengths: Tensor | None) -> tuple[Tensor, State]:
        """x (T, B, F) time-major -> output (T, B, D*H) and the final state (L*D, B, H)."""
        steps = x.shape[0]
        mask = None
        if lengths is not None:
            time = torch.arange(steps, device=x.device)
            mask = (time[:, None] < lengths.to(x.device)[None, :]).unsqueeze(-1)  # (T, B, 1)
        step = CELL_STEPS[self.mode]
        directions = 2 if self.bidirectional else 1
        layer_input = x
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                weight_ih, weight_hh, bias_ih, bias_hh = self._layer_weights(layer, direction)
                # W_xh x_t does not depend on the state, so it is computed for all T steps in
                # one large matrix product (T*B rows) before the loop; only W_hh h_{t-1} has
                # to wait for the previous step. One big product is far faster than T small
                # ones, on a CPU as on a GPU, and it is what cuDNN does too.
                # b_hh joins b_ih there too, except in the GRU, whose b_hn sits inside
                # r_t * (W_hn h + b_hn): one addition for all steps instead of one a step.
                fold = bias_hh is not None and self.mode != "GRU"
                x_proj = F.linear(layer_input, weight_ih, bias_ih + bias_hh if fold else bias_ih)  # (T, B, G*H)
                initial, recurrent = _recurrent_product(_select(state, k), weight_hh, None if fold else bias_hh)
                output, final = recur(step, x_proj, initial, recurrent, mask, reverse=direction == 1)
                outputs.append(output)
                finals.append(final)
            layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]  # (T, B, D*H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, _stack(finals)

    def _fused_padded(self, x: Tensor, state: State, lengths: Tensor | None) -> tuple[Tensor, State]:
        """torch's kernel, called exactly as torch.nn calls it (layout as the caller gave it)."""
        if lengths is not None:
            # The kernels know variable lengths only through packing: pack, run, pad back.
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=self.batch_first, enforce_sorted=False)
            output, h_n = self._forward_packed(packed, state, None)
            padded, _ = pad_packed_sequence(output, batch_first=self.batch_first, total_length=x.shape[1 if self.batch_first else 0])
            return padded, h_n
        result = _FUSED[self.mode](
            x, state, self._weights(), self.bias, self.num_layers,
            float(self.dropout), self.training, self.bidirectional, self.batch_first,
        )
        return result[0], self._state_from(result)

    # ----------------------------------------------------------------------------- helpers
    @property
    def _name(self) -> str:
        return type(self).__name__

    def _weights(self) -> list[Tensor]:
        # The parameters themselves, in torch's order (on a GPU, RNNBase keeps them as views
        # of one contiguous buffer for cuDNN).
        return [getattr(self, name) for name in self._flat_weights_names]

    def _layer_weights(self, layer: int, direction: int):
        names = _weight_names(layer, direction)
        weight_ih, weight_hh = self._weight(names[0]), self._weight(names[1])
        if not self.bias:
            return weight_ih, weight_hh, None, None
        return weight_ih, weight_hh, self._weight(names[2]), self._weight(names[3])

    def _weight(self, name: str) -> Tensor:
        # The parameter dictionary first: Module.__getattr__ costs about a microsecond, and a
        # sampler's step() asks for four weights a layer at every token.
        found = self._parameters.get(name)
        return found if found is not None else getattr(self, name)

    def _state_from(self, result) -> State:
        return (result[1], result[2]) if self.mode == "LSTM" else result[1]

    def _check_features(self, x: Tensor) -> None:
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self._name}: expected input with {self.input_size} features (input_size), got {x.shape[-1]}"
            )
        check_like(self._name, "input", x, self.weight_ih_l0)

    def _check_input(self, input) -> tuple[Tensor, bool]:
        """Return the input as a batched 3-D tensor in the caller's layout, and whether it was batched."""
        check_tensor("input", input)
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{self._name}: expected input of 2 (unbatched: T, F) or 3 (batched: "
                f"{'B, T, F' if self.batch_first else 'T, B, F'}) dimensions, got {input.dim()}"
            )
        self._check_features(input)
        if input.dim() == 2:
            return input.unsqueeze(0 if self.batch_first else 1), False
        return input, True

    def _check_state(self, hx, batch: int, batched: bool, x: Tensor) -> State:
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, self.hidden_size)
        if hx is None:
            zeros = lambda: torch.zeros(expected, dtype=x.dtype, device=x.device)  # noqa: E731
            return (zeros(), zeros()) if self.mode == "LSTM" else zeros()
        shape = expected if batched else (expected[0], expected[2])
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._name}: hx must be a tuple (h_0, c_0) of two tensors")
            parts = (("hx[0] (h_0)", hx[0]), ("hx[1] (c_0)", hx[1]))
        else:
            parts = (("hx", hx),)
        reference = self._weight("weight_ih_l0")
        for name, tensor in parts:
            # The common case in one cheap test (a sampler passes a state at every token);
            # the checks below say what is wrong when it fails.
            if isinstance(tensor, Tensor) and tensor.shape == shape and tensor.dtype == reference.dtype and tensor.device == reference.device:
                continue
            check_tensor(name, tensor)
            check_shape(self._name, name, tensor, shape)
            check_like(self._name, name, tensor, reference)
        if not batched:
            return _map_state(tuple(hx) if self.mode == "LSTM" else hx, lambda s: s.unsqueeze(1))
        return tuple(hx) if self.mode == "LSTM" else hx

    def _check_lengths(self, lengths, steps: int, batch: int) -> Tensor:
        if not isinstance(lengths, Tensor):
            lengths = torch.as_tensor(lengths)
        if lengths.dtype.is_floating_point or lengths.dtype == torch.bool or lengths.dim() != 1:
            raise ValueError(f"{self._name}: lengths must be a 1-D integer tensor or list, one length per sequence")
        if lengths.numel() != batch:
            raise ValueError(f"{self._name}: expected {batch} lengths (one per sequence), got {lengths.numel()}")
        if int(lengths.min()) < 1 or int(lengths.max()) > steps:
            raise ValueError(
                f"{self._name}: lengths must lie in [1, {steps}] (the padded sequence length), "
                f"got min {int(lengths.min())} and max {int(lengths.max())}"
            )
        return lengths.long()


@cache
def _weight_names(layer: int, direction: int) -> tuple[str, str, str, str]:
    """weight_ih, weight_hh, bias_ih and bias_hh's names for a layer and direction, as
    torch.nn names them (made once: a sampler asks for them at every token)."""
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    return ("weight_ih" + suffix, "weight_hh" + suffix, "bias_ih" + suffix, "bias_hh" + suffix)


def _stack(finals: list[State]) -> State:
    """The final states of each layer and direction -> one state (L*D, B, H)."""
    if isinstance(finals[0], tuple):
        return (torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals]))
    return torch.stack(finals)


def _select(state: State, k: int) -> State:
    return (state[0][k], state[1][k]) if isinstance(state, tuple) else state[k]


def _map_state(state: State, fn: Callable[[Tensor], Tensor]) -> State:
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)  # type: ignore[return-value]


def _permute(state: State, indices: Tensor | None) -> State:
    """Reorder the batch dimension (1) of a state, as torch.nn does around packed input."""
    if indices is None:
        return state
    return _map_state(state, lambda s: s.index_select(1, indices))


def _repack(output: Tensor, lengths: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack a padded (T, B, H) output in the same order as the packed input `like`."""
    order = like.sorted_indices
    if order is not None:
        output = output.index_select(1, order.to(output.device))
        lengths = lengths.index_select(0, order.cpu())
    data = pack_padded_sequence(output, lengths.cpu(), enforce_sorted=True).data
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


class RNN(Recurrent):
    """Drop-in for torch.nn.RNN: h_t = tanh (or relu)(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        backend: str = "scratch",
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.MODE = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            backend=backend, device=device, dtype=dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(Recurrent):
    """Drop-in for torch.nn.LSTM (without proj_size); the cell is seqlab.nn.cells.lstm."""

    MODE = "LSTM"


class GRU(Recurrent):
    """Drop-in for torch.nn.GRU; the cell is seqlab.nn.cells.gru (torch's reset-after form)."""

    MODE = "GRU"
