"""The typed REST contract: JSON Schemas per route and the OpenAPI 3.1 document."""
