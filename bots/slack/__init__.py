"""The Slack adapter: rendering, posting and streaming answers into Slack messages."""
