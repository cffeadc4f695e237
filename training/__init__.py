"""The train loop and what it needs: optimizers, checkpoints, metric writers, sweeps."""
