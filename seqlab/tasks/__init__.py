"""Thin recipes, one per task: data + model + config + decode, and their commands."""
