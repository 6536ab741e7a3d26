"""A REST/JSON facade in front of legacy SOAP services."""

__version__ = "0.1.0"
