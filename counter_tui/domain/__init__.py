"""Pure-Python domain rules of a personnel archive. Never imports Textual or the database."""
