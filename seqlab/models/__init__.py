"""Sequence models built from seqlab.nn: plain nn.Modules that know nothing about training."""

from seqlab.models.classifier import ClassifierConfig, SentenceClassifier
from seqlab.models.language_model import LanguageModel, LanguageModelConfig
from seqlab.models.trajectory import BallPredictor, BallPredictorConfig

__all__ = ["BallPredictor", "BallPredictorConfig", "ClassifierConfig", "LanguageModel", "LanguageModelConfig", "SentenceClassifier"]
