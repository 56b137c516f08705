"""The front door: the home page and the health check."""
