"""The inbox: provider callbacks received (``receive``: authenticated by the kind's adapter,
stored raw, acknowledged) and applied (``apply``: parsed into events and applied in batches by
the inbox worker)."""
