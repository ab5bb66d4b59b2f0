"""Pure rules: no fastapi, sqlalchemy or httpx imports here."""
