"""Forecasting's own knowledge: the scores (MASE, sMAPE, interval coverage) and the classical
baselines every recurrent forecast is measured beside (seqlab.forecast.baselines)."""
