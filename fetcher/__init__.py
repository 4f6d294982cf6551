"""The fetcher service: pulls a member's GitHub history week by week under the shared limiter."""
