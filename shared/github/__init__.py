"""GitHub: the HTTP client, the shared rate limiter and the contribution queries."""
