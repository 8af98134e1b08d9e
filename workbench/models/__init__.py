"""Model families (one readable file each), their registry keyed by config.json `model_type`, and loading."""
