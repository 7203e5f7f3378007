"""The feed build: content files in, feed files out, fast on the second run.

Owns the pipeline (scan, parse in worker processes, select, export, validate, write), the
build cache that makes a no-op build cheap, the manifest of what was written, and the
digest loader. It never touches editions or subscribers.

May import: config, content, crashpoints, delivery, errors, exporters, files, model, store, text.
"""
