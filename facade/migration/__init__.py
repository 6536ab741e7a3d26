"""Moving routes from legacy to new: which side serves each request."""
