"""Completion sources: the OpenAI-compatible endpoint and the embedded model, behind one protocol."""
