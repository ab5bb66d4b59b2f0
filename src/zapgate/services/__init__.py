"""Use-cases. Each takes the container (or what it needs) by keyword and calls storage."""
