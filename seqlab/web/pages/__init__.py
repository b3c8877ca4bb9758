"""The pages of `seqlab serve`, one module each (see seqlab.web.registry)."""
