"""Inbound credentials -> the principal; who may call which route; rate limits per caller."""
