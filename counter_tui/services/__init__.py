"""Use cases. Each owns its transaction and returns plain read models. Never imports Textual."""
