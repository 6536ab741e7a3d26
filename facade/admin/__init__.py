"""The admin API (/admin/*, behind a bearer token) and the status it reports."""
