"""FluenzR public REST API server."""

__version__ = "1.0.0"
