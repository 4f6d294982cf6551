"""Open Humans: the API client and the member's token lifecycle."""
