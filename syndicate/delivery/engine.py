"""The send engine: worker threads, one transport session each, every hand-off in the ledger.

Rows come from the ledger in batches (``Ledger.claim_batch``; other send runs may claim
other batches of the same edition); when none is free while other live runs still hold some,
the engine waits for them to finish or for their leases to expire, then takes over.

Per recipient: build the message, connect if needed, start the hand-over, claim the ledger row
(``sending``, committed) at the last moment before the message itself goes out (for SMTP,
after MAIL and RCPT were accepted, while DATA's answer is on its way), then record the outcome, which is committed with the
next write (see ``ledger``). Building, connecting and the envelope's round trips all happen
before the claim, so a crash leaves a row "uncertain" only while its body was in flight or
its outcome not yet written.

Faults: a 4xx defers the row and retries it in this run after ``retry_delay`` (doubling) up to
``retries`` times, then leaves it for the next run; after ``max_attempts`` across runs it fails.
A 5xx fails the row with the server's reply, and a 5.1.x reply also marks the subscriber
bounced. A connection lost before the hand-off puts the row back and reconnects (a server
that stays unreachable counts no attempt against anyone); lost after, the row stays
``sending`` (uncertain). ``max_errors`` errors in a row stop the run, as does
a transport that cannot send at all (bad login, refused sender); what is left stays queued.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import DeliveryError
from ..text.words import plural
from .ledger import Pending
from .ledger_run import Ledger
from .transports import (
    ConnectionLost,
    NotClaimed,
    PermanentFailure,
    Session,
    TemporaryFailure,
    Transport,
    TransportDown,
    UncertainDelivery,
    Unreachable,
)

log = logging.getLogger("syndicate.delivery")

Progress = Callable[[int, int], None]
MAX_RECONNECTS = 3
BUILDS_MEASURED = 16  # builds timed before choosing where to build (``Engine._start_build``)
INLINE_BUILD_SECONDS = 0.0002  # cheaper than this (median): build in the sending thread


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """``[email.sending]``: in-run retries, their first delay, the give-up and stop limits."""

    retries: int = 3
    retry_delay: float = 10.0
    max_attempts: int = 10
    max_errors: int = 50
    lease: float = 60.0  # seconds a claim holds without renewal (``claims``)
    batch: int = 100  # rows claimed per commit


@dataclass(slots=True)
class Job:
    """One recipient's progress through this run."""

    email: str
    name: str
    message_id: str
    attempts: int
    tries: int = 0
    reconnects: int = 0

    @classmethod
    def of(cls, row: Pending) -> Job:
        """A job for a due ledger row."""
        return cls(row.email, row.name, row.message_id, row.attempts)


@dataclass(slots=True)
class Tally:
    """What this run did; ``done`` counts recipients whose outcome for this run is settled."""

    sent: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0
    deferred: int = 0
    uncertain: int = 0
    done: int = 0
    stopped: str = ""
    errors: list[str] = field(default_factory=list)


class RateLimiter:
    """At most ``rate`` hand-offs per second across all threads (0 = unlimited)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's slot comes."""
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class Engine:
    """Sends ``jobs`` through ``transport``, recording every step in ``ledger``."""

    def __init__(
        self,
        transport: Transport,
        ledger: Ledger,
        build: Callable[[Job], bytes],
        sender: str,
        policy: RetryPolicy,
    ) -> None:
        self._transport = transport
        self._ledger = ledger
        self._build = build
        self._sender = sender
        self._policy = policy
        self._rate = RateLimiter(transport.rate)
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._later: list[tuple[float, int, Job]] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._working = 0  # workers not yet finished (their own count: see ``_wait_for_workers``)
        self._all_done = threading.Event()  # set when ``_working`` reaches 0
        self._errors_in_row = 0
        self._fatal: BaseException | None = None
        self._reached = False  # has any session of this run connected?
        self._builder = ThreadPoolExecutor(1)
        self._build_costs: list[float] = []  # seconds of the first builds (``_start_build``)
        self._inline = False
        self._exhausted = False  # nothing left to claim, and no other worker holds rows
        self._refilling = False
        self._poll_at = 0.0  # when to look for rows again while others hold some
        self._beat = threading.Event()
        self.tally = Tally()

    def run(self, total: int, progress: Progress | None = None) -> Tally:
        """Claim rows in batches and send them (with their in-run retries) until none is left
        to claim and no other live worker holds any, or the run is stopped. ``total`` is the
        number due at the start (for ``progress``); other workers may send some of them."""
        count = max(1, min(self._transport.sessions, total or 1))
        heartbeat = threading.Thread(
            target=self._heartbeat, name="syndicate-lease", daemon=True
        )
        heartbeat.start()
        try:
            return self._run(count, total, progress)
        finally:
            self._beat.set()
            heartbeat.join()
            self._ledger.finish()

    def _heartbeat(self) -> None:
        """Renew this worker's lease (and commit queued outcomes) every third of it."""
        while not self._beat.wait(self._policy.lease / 3):
            try:
                self._ledger.renew()
            except Exception as exc:  # noqa: BLE001 - a busy database: try again next beat
                log.debug("lease renewal failed: %s", exc)

    def _run(self, count: int, total: int, progress: Progress | None) -> Tally:
        self._builder = ThreadPoolExecutor(min(count, 4), thread_name_prefix="syndicate-build")
        threads = [
            threading.Thread(target=self._worker, name=f"syndicate-send-{n}", daemon=True)
            for n in range(count)
        ]
        with self._cond:
            self._working = count
        for thread in threads:
            thread.start()
        try:
            while not self._wait_for_workers(0.1 if progress is not None else None):
                if progress is not None:
                    progress(self.tally.done, total)
        except KeyboardInterrupt:
            self.stop("interrupted; messages in flight were finished")
            self._wait_for_workers(None)
        self._builder.shutdown(wait=True, cancel_futures=True)
        if progress is not None:
            progress(self.tally.done, total)
        if self._fatal is not None:
            raise self._fatal
        return self.tally

    def _wait_for_workers(self, timeout: float | None) -> bool:
        """Whether every worker has finished, waiting up to ``timeout`` seconds (None: until
        they have). The workers count themselves out: ``Thread.join`` interrupted by the
        KeyboardInterrupt that SIGTERM raises can leave a running thread looking finished
        (CPython gh-90882), and the process would then exit, killing a daemon worker between
        handing a message over and recording it in the ledger."""
        # An Event of its own, not ``_cond``: that is notified after every message, and
        # waking this thread for each cost a thread switch per message.
        return self._all_done.wait(timeout)

    def stop(self, reason: str) -> None:
        """Ask every worker to finish its current message and stop."""
        with self._cond:
            if not self.tally.stopped:
                self.tally.stopped = reason
                # The run's report says it once ("stopped: ..."); this marks the moment.
                log.debug("stopping the send: %s", reason)
            self._cond.notify_all()

    def _next(self) -> Job | None:
        """The next job: queued, a retry that is due, or a fresh batch claimed from the
        ledger; None when the run is over. Waits (committing queued outcomes first) while
        other threads' messages or other workers' claims may still bring work."""
        with self._cond:
            while True:
                if self.tally.stopped:
                    return None
                if self._queue:
                    self._in_flight += 1
                    return self._queue.popleft()
                now = time.monotonic()
                if self._later and self._later[0][0] <= now:
                    self._in_flight += 1
                    return heapq.heappop(self._later)[2]
                if not self._exhausted and not self._refilling and now >= self._poll_at:
                    self._refill()
                    continue
                if (
                    self._exhausted
                    and not self._later
                    and self._in_flight == 0
                    and not self._refilling
                ):
                    return None
                self._ledger.flush()  # nothing to send right now: no outcome waits for it
                timeout = 0.5  # a refill or a finished message notifies sooner
                if self._later:
                    timeout = min(timeout, self._later[0][0] - now)
                if not self._exhausted and not self._refilling:
                    timeout = min(timeout, self._poll_at - now)
                self._cond.wait(max(0.0, timeout))

    def _refill(self) -> None:
        """Claim the next batch (called holding ``_cond``; released while the ledger works)."""
        self._refilling = True
        self._cond.release()
        try:
            rows = self._ledger.claim_batch(self._policy.batch)
            elsewhere = 0 if rows else self._ledger.busy_elsewhere()
        finally:
            self._cond.acquire()
            self._refilling = False
            self._cond.notify_all()
        if rows:
            self._queue.extend(Job.of(row) for row in rows)
        elif elsewhere:
            # Others hold rows: they send them, or die and their leases expire; look again.
            self._poll_at = time.monotonic() + min(1.0, self._policy.lease / 4)
        else:
            self._exhausted = True

    def _finished(self, job: Job, retry_after: float | None = None) -> None:
        with self._cond:
            self._in_flight -= 1
            if retry_after is not None:
                due = time.monotonic() + retry_after
                heapq.heappush(self._later, (due, next(self._order), job))
            else:
                self.tally.done += 1
            self._cond.notify_all()

    def _take(self) -> Job | None:
        """The next job if one is ready now (never waits): the look-ahead of a worker."""
        with self._cond:
            if self.tally.stopped:
                return None
            if self._queue:
                self._in_flight += 1
                return self._queue.popleft()
            return None

    def _abandon(self, job: Job) -> None:
        """A job taken but not started (the run is stopping): its row stays as it was."""
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def _worker(self) -> None:
        """Deliver jobs one by one, building the next message while this one is on the wire.

        Building runs on the shared builder pool, so its CPU time overlaps the wait for the
        server's replies instead of adding to it.
        """
        session: Session | None = None
        try:
            session = self._transport.open()
            job = self._next()
            built = self._start_build(job) if job else None
            while job is not None and built is not None:
                ahead = self._take()
                ahead_built = self._start_build(ahead) if ahead else None
                if self.tally.stopped:
                    self._abandon(job)
                else:
                    retry_after: float | None = None
                    try:
                        retry_after = self._deliver(session, job, built.result())
                    finally:
                        self._finished(job, retry_after)
                if ahead is None:
                    job = self._next()
                    built = self._start_build(job) if job else None
                else:
                    job, built = ahead, ahead_built
        except TransportDown as exc:
            self.stop(str(exc))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread by run()
            self._fatal = exc
            self.stop(f"internal error: {exc!r}")
        finally:
            try:
                if session is not None:
                    session.close()
            finally:
                with self._cond:
                    self._working -= 1
                    if self._working == 0:
                        self._all_done.set()
                    self._cond.notify_all()

    def _start_build(self, job: Job) -> Future[bytes | DeliveryError]:
        """Build ``job``'s message: on the builder pool, so that its CPU overlaps the wait
        for the server (a DKIM signature takes ~1.5 ms), or here and now once the first
        builds have shown it cheap (an unsigned copy, ~40 us): handing a cheap build to
        another thread costs more CPU (two thread wake-ups) than the build itself."""
        if not self._inline:
            return self._builder.submit(self._build_one, job)
        done: Future[bytes | DeliveryError] = Future()
        done.set_result(self._build_one(job))
        return done

    def _build_one(self, job: Job) -> bytes | DeliveryError:
        costs = self._build_costs
        measure = len(costs) < BUILDS_MEASURED
        start = time.thread_time() if measure else 0.0
        try:
            return self._build(job)
        except DeliveryError as exc:
            return exc
        finally:
            if measure:
                costs.append(time.thread_time() - start)
                if len(costs) == BUILDS_MEASURED:
                    # The first build warms caches: judge by the cheaper half.
                    self._inline = sorted(costs)[BUILDS_MEASURED // 2] < INLINE_BUILD_SECONDS

    def _deliver(self, session: Session, job: Job, message: bytes | DeliveryError) -> float | None:
        """One recipient, start to finish; returns a delay if it should be retried in-run."""
        self._rate.wait()
        if isinstance(message, DeliveryError):
            if self._claim(job):
                self._ledger.failed(job.email, f"cannot build the message: {message}")
                self._count("failed")
            return None
        while True:
            try:
                session.prepare()
            except Unreachable as exc:
                with self._cond:
                    first = not self._reached
                if first:
                    # A dead server or a wrong host/port/security: no retry cures that, so
                    # stop now instead of minutes of silent backoff (nothing was claimed).
                    raise TransportDown(exc.reason) from None
                if not self._reconnect_wait(job, exc.reason):
                    return self._defer_unclaimed(job, exc.reason)
                continue
            except ConnectionLost as exc:
                if not self._reconnect_wait(job, exc.reason):
                    return self._defer_unclaimed(job, exc.reason)
                continue
            with self._cond:
                self._reached = True
            claimed = False

            def claim() -> bool:
                nonlocal claimed
                claimed = self._claim(job)
                return claimed

            try:
                reply = session.send(self._sender, job.email, message, claim=claim)
            except NotClaimed:
                return None
            except ConnectionLost as exc:
                if claimed:
                    self._ledger.release(job.email)
                    job.attempts -= 1
                if not self._reconnect_wait(job, exc.reason):
                    return self._defer_unclaimed(job, exc.reason)
                continue
            except TemporaryFailure as exc:
                if not (claimed or claim()):
                    return None
                self._error(exc.reason)
                return self._defer(job, exc.reason)
            except PermanentFailure as exc:
                if not (claimed or claim()):
                    return None
                self._fine()
                if exc.bounce:
                    self._ledger.bounced(job.email, exc.reason)
                    self._count("bounced")
                else:
                    self._ledger.failed(job.email, exc.reason)
                self._count("failed")
                log.info("%s: failed: %s", job.email, exc.reason)
                return None
            except UncertainDelivery as exc:
                self._error(exc.reason)
                self._ledger.uncertain(job.email, exc.reason)
                self._count("uncertain")
                log.warning("%s: outcome unknown: %s", job.email, exc.reason)
                return None
            except TransportDown:
                if claimed:
                    self._ledger.release(job.email)
                raise
            self._ledger.sent(job.email, reply)
            self._fine()
            self._count("sent")
            return None

    def _claim(self, job: Job) -> bool:
        claimed = self._ledger.claim(job.email)
        if claimed is None:
            self._count("skipped")
        if claimed:
            job.attempts += 1
        return bool(claimed)

    def _reconnect_wait(self, job: Job, reason: str) -> bool:
        """After a lost connection: wait a little and say whether to try again."""
        self._error(reason)
        job.reconnects += 1
        if job.reconnects > MAX_RECONNECTS or self.tally.stopped:
            return False
        delay = min(0.05 * 2 ** (job.reconnects - 1), 2.0)
        log.debug(
            "%s: reconnecting, retry in %.1f s (%d of %d): %s",
            job.email,
            delay,
            job.reconnects,
            MAX_RECONNECTS,
            reason,
        )
        time.sleep(delay)
        return True

    def _defer_unclaimed(self, job: Job, reason: str) -> float | None:
        """Give up on the connection for now; the recipient's row stays as it was.

        A server that cannot be reached says nothing about this recipient, so no attempt is
        counted: otherwise an outage spanning ``max_attempts`` cron runs would fail the first
        few recipients for good (a silent miss). Retried in this run like a 4xx, then left
        for the next run; the errors it caused still stop a run against a dead server.
        """
        job.reconnects = 0
        delay = float(self._policy.retry_delay * 2**job.tries)
        job.tries += 1
        if job.tries <= self._policy.retries and not self.tally.stopped:
            log.debug(
                "%s: server unreachable, retry in %.1f s (%d of %d): %s",
                job.email,
                delay,
                job.tries,
                self._policy.retries,
                reason,
            )
            return delay
        log.info("%s: left for the next run (server unreachable): %s", job.email, reason)
        self._ledger.let_go(job.email)
        return None

    def _defer(self, job: Job, reason: str) -> float | None:
        """A temporary failure of a claimed row: retry in-run, leave for later, or give up."""
        if job.attempts >= self._policy.max_attempts:
            self._ledger.failed(
                job.email, f"gave up after {plural(job.attempts, 'attempt')}: {reason}"
            )
            self._count("failed")
            return None
        delay = float(self._policy.retry_delay * 2**job.tries)
        self._ledger.deferred(job.email, reason, delay)
        job.tries += 1
        if job.tries <= self._policy.retries and not self.tally.stopped:
            log.debug(
                "%s: deferred, retry in %.1f s (%d of %d): %s",
                job.email,
                delay,
                job.tries,
                self._policy.retries,
                reason,
            )
            return delay
        self._count("deferred")
        log.info("%s: deferred to the next run: %s", job.email, reason)
        return None

    def _count(self, what: str) -> None:
        with self._cond:
            setattr(self.tally, what, getattr(self.tally, what) + 1)

    def _error(self, reason: str) -> None:
        with self._cond:  # an RLock: stop() may take it again
            self._errors_in_row += 1
            self.tally.errors.append(reason)
            del self.tally.errors[:-5]
            if self._errors_in_row >= self._policy.max_errors:
                self.stop(f"{plural(self._policy.max_errors, 'error')} in a row; last: {reason}")

    def _fine(self) -> None:
        with self._cond:
            self._errors_in_row = 0
