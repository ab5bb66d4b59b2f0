"""The sandbox provider: a simulated WhatsApp recipient, no network, no account."""
