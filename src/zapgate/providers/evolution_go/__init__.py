"""Evolution GO (whatsmeow-based, self-hosted): an instance per number, paired by QR or code."""
