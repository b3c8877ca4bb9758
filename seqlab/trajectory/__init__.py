"""Trajectories: where will it go next? A ball in a box seen as frames (seqlab.trajectory.ball),
and the baselines every learned predictor is measured against (seqlab.trajectory.baselines)."""
