"""The character model shipped with seqlab (a checkpoint: model.safetensors + config.json).

Made by `seqlab text train --out runs/text-v1` (the default preset: a 2-layer 512-unit LSTM,
1500 steps of 32 x 100 characters of Tiny Shakespeare) and
`seqlab text export --checkpoint runs/text-v1/best --out seqlab/text/pretrained`;
see the README for the hardware, time and held-out nats/char.
"""
