"""Persistence: schema, migrations, the single writer, upserts and queries. SQL lives only here."""
