"""Delivery: the subscriber store, signed tokens, the send ledger, transports and the send run.

Nothing here imports click; ``syndicate/cli/`` calls ``send.send_edition`` and friends.
"""
