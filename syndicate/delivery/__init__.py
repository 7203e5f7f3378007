"""Delivery: the subscriber store, signed tokens, the send ledger (and its retention: old sends
folded into per-edition totals), transports and the send run.

A leaf below the edition: it is handed a rendered message and ``DeliverySettings`` (built
from the config at the edge) and never moves an edition's state. Nothing here imports click.

May import: config, content, crashpoints, errors, files, model, store, text.
"""
