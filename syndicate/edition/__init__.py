"""The newsletter edition: what goes in the next one, rendering it, and sending it once.

Owns the edition state machine, the MJML email and its text twin, the lint, previews, the
archive pages and ``sending`` (the lock and state moves around ``delivery.deliver``).

May import: config, content, crashpoints, delivery, errors, exporters, files, model, store, text.
"""
