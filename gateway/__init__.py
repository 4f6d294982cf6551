"""The web gateway: Open Humans and GitHub OAuth, the member's dashboard, webhooks and probes."""
