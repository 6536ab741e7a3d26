"""Moving routes from legacy to new: which side serves, and how the two compare."""
