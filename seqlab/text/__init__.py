"""Text for the language-model task: the shipped corpus (Tiny Shakespeare, public domain,
in `data/`) and the shipped character model (in `pretrained/`).

The task itself (train, generate, predict, evaluate, export) is seqlab/tasks/text.py.
"""
