"""Customer webhooks: payload shapes (schema v3) and signing."""
