"""Zapgate: a self-hosted WhatsApp messaging gateway speaking the Pilot Status API v1."""

__version__ = "0.1.0"
