"""Text to model to problems: reading YAML with its lines, the models, validation."""
