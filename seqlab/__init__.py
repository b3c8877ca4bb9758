"""seqlab: deep sequence modeling with recurrent neural networks.

The recurrent core (``seqlab.nn``) is written from the lecture's equations and is
interchangeable with ``torch.nn``'s recurrent layers; ``seqlab.reference`` is a NumPy
version with backpropagation through time written by hand.
"""

__version__ = "0.1.0"
