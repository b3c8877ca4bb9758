"""Diagnostics for recurrent layers: how gradients flow back through time (lecture section 4)."""

from seqlab.diagnostics.gradients import hidden_gradient_norms, jacobian_norms, spectral_radius

__all__ = ["hidden_gradient_norms", "jacobian_norms", "spectral_radius"]
