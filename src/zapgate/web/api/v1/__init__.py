"""Routes of the public API v1: thin (parse, call one service, shape the response)."""
