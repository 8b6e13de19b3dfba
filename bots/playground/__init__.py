"""The local web playground: a chat channel in the browser, answered through the relay."""
