"""Sequence models built from seqlab.nn: plain nn.Modules that know nothing about training."""

from seqlab.models.classifier import ClassifierConfig, SentenceClassifier
from seqlab.models.language_model import LanguageModel, LanguageModelConfig

__all__ = ["ClassifierConfig", "LanguageModel", "LanguageModelConfig", "SentenceClassifier"]
