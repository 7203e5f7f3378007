"""Edition reports: what happened to each send (delivery, bounces, unsubscribes, clicks, speed)
as terminal tables, JSON, or a self-contained HTML page with charts.

Reads the state database only; charts are drawn by pygal, loaded only when a page is written.

May import: build, config, content, delivery, edition, errors, files, model, store, text.
"""
