"""Backends serve a route: the legacy SOAP operation today, the new implementation later."""
