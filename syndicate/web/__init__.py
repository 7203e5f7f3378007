"""The reader-facing WSGI app: one-click unsubscribe, double opt-in subscribe and confirm.

``syndicate.web:app`` is what gunicorn or ``syndicate serve`` (waitress) runs.

May import: config, content, delivery, errors, files, model, store, text.
"""

# ``app`` serves every route on ``router``: this package imports each page module (the double
# opt-in pages of ``subscribe`` register themselves when imported), so whoever imports any
# part of ``syndicate.web`` gets the whole app, and no page module imports another.
from . import clicks as clicks
from . import subscribe as subscribe
from .app import app as app
from .app import make_app as make_app
from .app import serve as serve
