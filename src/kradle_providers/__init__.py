"""kradle-providers: one canonical model and three protocols over many providers."""

__version__ = "0.1.0"
