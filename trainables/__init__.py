"""Everything that runs inside a trial: architecture spec, models, data, training, the trainable."""
