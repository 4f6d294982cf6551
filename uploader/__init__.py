"""The uploader service: merges staged weeks into the member's Open Humans file."""
