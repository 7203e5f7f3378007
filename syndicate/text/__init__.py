"""Plain text: the text twin of an email, digests, tables, wrapping at display width, and the
autoescaping Jinja2 environment templates render through. Owns no files or state.

May import: config, content, errors, model.
"""
