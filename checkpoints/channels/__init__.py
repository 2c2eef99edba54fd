"""Chat channels where people decide checkpoints."""
