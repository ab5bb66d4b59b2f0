"""Evolution API v2 (Baileys): one instance per number, paired by QR code or pairing code."""
