"""The cron job: ``syndicate publish`` and everything it decides.

Owns the run (build, then any due edition, then correction notices), dispatch across newsletters, schedules and
periods, announcements, deployment of the built site and WebSub pings; ``site.build``
writes feeds plus the archive.

May import: build, config, content, crashpoints, delivery, edition, errors, exporters, files, model, store, text, web.
"""
