"""Persistence: engine factory, SQLModel tables, repositories, migrations. Never imports Textual."""
