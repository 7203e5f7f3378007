"""The newsletter edition: what goes in the next one, rendering it, and sending it once.

Owns the edition state machine, the MJML email and its text twin, the lint, previews, the
archive pages (with correction notes added after sending), ``sending`` (the lock and state
moves around ``delivery.deliver``), correction notices (``notice``, ``notice_send``: the
store component ``corrections``) and ``prune`` (which old sends the ledger folds into totals).

May import: config, content, crashpoints, delivery, errors, exporters, files, model, store, text.
"""
