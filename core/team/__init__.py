"""The team's controls: who may ask, each channel's model and prompt, and who spends tokens."""
