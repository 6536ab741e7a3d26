"""The response cache: a byte-bounded store, the keys, and the pipeline step in front of a
safe route's backend call."""
