"""The demo city generator: a deterministic city on the embedded defaults."""
