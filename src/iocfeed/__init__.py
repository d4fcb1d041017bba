"""iocfeed: a self-hosted threat-intelligence feed."""

__version__ = "0.1.0"
