"""Resilience toward the backends: retries where safe, a circuit breaker and a retry budget
per backend origin, idempotency keys for writes. The concurrency limit per origin lives in
the network seam (facade/net/limit.py), next to the connections it guards."""
