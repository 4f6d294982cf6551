"""The scheduler service: enqueues refreshes for members whose data has gone stale."""
