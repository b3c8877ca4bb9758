"""The music model shipped with seqlab (a checkpoint: model.safetensors + config.json).

Made by `seqlab music train --out runs/music-v2` (the default preset) and
`seqlab music export --checkpoint runs/music-v2/best --out seqlab/music/pretrained`;
see the README for the hardware, time and held-out bits/char.
"""
