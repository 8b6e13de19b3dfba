"""The fake's REST API, one module a family of Discord's endpoints; `rest.Router` serves them."""
