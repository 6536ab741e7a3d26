"""The process settings file, `facade.yaml`: authentication, rate limits and request limits."""
