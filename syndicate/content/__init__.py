"""Articles as the publication holds them: content files parsed into the canonical model.

Owns front matter (TOML and YAML) and its schema, Markdown rendering and sanitising, slugs,
dates, the source scan and the per-article limits. Pure functions over files: no state
database, no feeds, no email.

May import: config, errors, files, model.
"""
