"""Training: one step-based adversarial loop (``loop``), its objectives, EMA, checkpoints and metric logs."""
