"""The reader-facing WSGI app: one-click unsubscribe, double opt-in subscribe and confirm.

``syndicate.web:app`` is what gunicorn or ``syndicate serve`` (waitress) runs.

May import: config, content, delivery, errors, files, model, store, text.
"""

from .app import app as app
