"""Loopback simulators of the WhatsApp providers (``zapgate sim ...``)."""
