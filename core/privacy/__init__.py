"""Text cleaned before people or the model see it: secrets masked, personal data redacted."""
