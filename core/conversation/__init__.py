"""What the model reads: a conversation fitted to its context, and what a new one offers."""
