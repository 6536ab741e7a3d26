"""The declarative mapping format: one YAML file per route, parsed into frozen values."""
