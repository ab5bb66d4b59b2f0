"""Provider adapters behind one small interface (see ``base``)."""
