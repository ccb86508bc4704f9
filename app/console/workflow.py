"""The console's session with one worklist provider, without Qt.

It owns the backend, the outbox and the event channel, runs their coroutines on the running
asyncio loop, and tells every outcome to its listeners. A BackendError becomes a sentence
(`WorkflowListener.message`); the detail goes to the log. Every message carries a key, so that
a view replaces the previous news about the same thing (the connection, one procedure) instead
of overwriting unrelated news.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from app.backends import make_backend
from app.backends.claim_store import Waiting, owner_description, owner_key
from app.backends.errors import BackendError, NotPermitted, Unreachable
from app.backends.outbox import KIND_NAMES, Delivery, Failure, Outbox
from app.backends.profiles import Profile
from app.backends.protocol import Capabilities, Exchange
from app.domain.build import NewWorkitem
from app.domain.completion import completion_problems, refusal
from app.domain.dates import span_changes_at
from app.domain.draft import ProcedureDraft
from app.domain.events import EventType, WorkitemEvent, parse_event
from app.domain.identifiers import new_uid
from app.domain.procedure import PerformedProcedure
from app.domain.states import State
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery

from .listener import Listeners, WorkflowListener
from .marks import ResumeOffer, resume_offer, row_marks
from .orders import put_back_outcome
from .sentences import CONFIGURATION, CONNECTION, named, procedure_key

log = logging.getLogger(__name__)


class Workflow:
    def __init__(
        self,
        profile: Profile,
        outbox_path: Path | None = None,
        owner: str | None = None,
        listeners: tuple[WorkflowListener, ...] = (),
    ) -> None:
        self.tell = Listeners(listeners)
        self.profile = profile
        # what the technologist asked for; a relative choice ("Today") is worked out anew for
        # every search, automatic ones included (`searched` is what the last one asked)
        self.query = WorklistQuery(station=profile.station_code, dates=profile.opening_dates)
        self.searched = self.query.at(datetime.now())
        self.listed_query: WorklistQuery | None = None  # the search the last list told answers
        self._searches = 0  # searches asked for so far: an answer overtaken by a newer question is dropped
        self.backend = make_backend(profile, self._observe)
        self.outbox = Outbox(
            self.backend,
            owner or owner_key(profile),
            outbox_path,
            on_failure=self._on_failure,
            on_change=self.tell.pending,
            profile_name=profile.name,
            description=owner_description(profile),
            on_sent=self._on_sent,
            on_held=self._not_permitted,
        )
        adopted = self.outbox.store.adopt_legacy(profile.name)
        if adopted:
            log.info("Took over %d claim(s) an earlier version kept for profile %r", adopted, profile.name)
        self.connected = False
        self.live_station: str | None = profile.station_code  # whose events arrive; None: not live
        self._tasks: set[asyncio.Future] = set()
        self._watching: asyncio.Future | None = None
        self._closed = False
        self.refused: str | None = None  # the server's refusal of who we are, until asked again

    @property
    def closed(self) -> bool:
        """Closing has begun: nothing new is started."""
        return self._closed

    @property
    def idle(self) -> bool:
        """No coroutine of this workflow is left running."""
        return not self._tasks

    # -- running coroutines ----------------------------------------------------------------
    def spawn(self, work: Callable[[], Coroutine[Any, Any, Any]], busy: str = "", key: str = "error") -> asyncio.Future:
        """Run `work()` on the loop, its failures said as sentences. The coroutine is made only
        when the task runs: one cancelled before it started leaves none behind unawaited."""
        if self._closed:  # a late event or timer of a closed console: nothing more is done
            return self._nothing()
        task = asyncio.ensure_future(self._guard(work, busy, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, work: Callable[[], Coroutine[Any, Any, Any]], busy: str, key: str) -> Any:
        if busy:
            self.tell.busy(True, busy)
        try:
            return await work()
        except NotPermitted as exc:
            log.warning("%s (%s)", exc.sentence, exc.detail)
            self._not_permitted(exc.sentence)
        except Unreachable as exc:  # the server is away: nothing is lost, so a warning, not an error
            log.warning("%s (%s)", exc.sentence, exc.detail)
            self.tell.message("warning", exc.sentence, CONNECTION)
            if key == CONNECTION:
                self.tell.connection(self.connected, exc.sentence)
        except BackendError as exc:
            log.warning("%s (%s)", exc.sentence, exc.detail)
            self.tell.message("error", exc.sentence, key)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Unexpected failure")
            self.tell.message("error", "Something went wrong; the details are in the log.", key)
        finally:
            if busy:
                self.tell.busy(False, "")
        return None

    def start(self) -> None:
        """Query, listen for events, keep the outbox flowing."""
        self.refresh()
        if self.backend.capabilities.live_events:
            self._watch()
        else:  # no events (MWL/MPPS): poll, and say so
            self.live_station = None
            self.tell.connection(False, " ".join(self.backend.capabilities.notes))
            self._tasks.add(asyncio.ensure_future(self._poll()))
        self._tasks.add(asyncio.ensure_future(self._outbox_loop()))
        self._tasks.add(asyncio.ensure_future(self._follow_the_clock()))
        self.tell.pending(self.outbox.pending())

    def _watch(self) -> None:
        async def run() -> None:
            try:
                await self.backend.watch(self._on_event, self._on_connection)
            except NotPermitted as exc:  # the channel stays closed until asked again: not an outage
                log.warning("No live events: %s (%s)", exc.sentence, exc.detail)
                self.live_station = None
                self._not_permitted(exc.sentence)

        self._watching = asyncio.ensure_future(run())
        self._tasks.add(self._watching)
        self._watching.add_done_callback(self._tasks.discard)

    def _not_permitted(self, sentence: str) -> None:
        """The server refuses who we are (HTTP 403): a setting to fix, said in red at once, never
        as the server being away; what waits to be sent stays kept."""
        self.refused = sentence
        self.tell.message(
            "error",
            f"{sentence.rstrip('. ')}. Nothing is lost: reports are kept on this console and sent when the "
            "profile is changed, or when you press Try again.",
            CONFIGURATION,
        )

    def retry(self) -> None:
        """Ask again after a refusal of who we are: the reports held, the live events, the list."""
        self.refused = None
        self.outbox.release()
        if self.backend.capabilities.live_events and (self._watching is None or self._watching.done()):
            self._watch()
        self.refresh()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(max(2.0, self.profile.poll_seconds))
            await self._guard(self._refresh, "", CONNECTION)

    async def _follow_the_clock(self) -> None:
        """Search again when a relative date choice comes to mean other dates (at midnight;
        hourly for the 12-hour window). asyncio sleeps on the monotonic clock, which a computer
        asleep or a clock set forward or back leaves behind: the wall clock is read at least
        once a minute instead of trusting one long timer."""
        while True:
            now = datetime.now()
            until = (span_changes_at(self.query.dates, now) - now).total_seconds() if self.query.dates else 60.0
            await asyncio.sleep(min(60.0, max(0.2, until + 0.2)))
            if self.query.dates and self.query.at(datetime.now()) != self.searched:
                log.info("The dates %r have moved on; searching the worklist again", self.query.dates)
                self.refresh()

    async def _outbox_loop(self) -> None:
        while True:
            try:
                await self.outbox.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Outbox loop failed; restarting it")
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.backend.close()
        self.outbox.close()

    # -- the worklist -------------------------------------------------------------------------
    def refresh(self, query: WorklistQuery | None = None) -> asyncio.Future:
        if query is not None:
            self.query = query
        return self.spawn(self._refresh, "Searching the worklist…", CONNECTION)

    async def _refresh(self) -> None:
        self._searches += 1
        asked = self._searches
        query = self.searched = self.query.at(datetime.now())
        # our own station's events, or every station's while another's list is shown: an urgent
        # order for this station is still announced
        wanted = query.station if query.station == self.profile.station_code else ""
        if self.backend.capabilities.live_events and wanted != self.live_station:
            await self._follow(wanted)
        items = await self.backend.search(query)
        items += await self._pinned(items)
        if asked != self._searches:
            # a newer search was asked for while this one went (a filter typed while the list was
            # refreshed): its answer is the one to show, never this older one after it
            return
        self.listed_query = query
        self.tell.worklist(items)
        self.tell.refreshed(datetime.now())
        if self.outbox.pending():
            self.outbox.kick()  # the server answers: what waits need not wait for the backoff

    async def _follow(self, station: str) -> None:
        try:
            await self.backend.follow(station)
            self.live_station = station
        except NotPermitted as exc:  # said in red; the list is still searched if the server allows that
            log.warning("No live events for %r: %s", station, exc.detail or exc.sentence)
            self.live_station = None
            self._not_permitted(exc.sentence)
            return
        except BackendError as exc:
            log.warning("No live events for %r: %s", station, exc.detail or exc.sentence)
            self.live_station = None
        if self.connected:  # whose events now arrive; a channel that is down says so itself
            self.tell.connection(True, self.live_sentence())

    def live_sentence(self) -> str:
        if self.live_station is None:
            return "This view is not live: press F5 to refresh it."
        whose = f"station {self.live_station}" if self.live_station else "every station"
        return f"Live events for {whose} from the worklist server."

    def is_live(self) -> bool:
        """Does what the list shows change by itself when others change it?"""
        return (
            self.connected
            and self.live_station is not None
            and (self.live_station == "" or self.live_station == self.query.station)
        )

    async def _pinned(self, found: list[Workitem]) -> list[Workitem]:
        """This console's procedures in progress that the query did not find: they stay in view."""
        shown = {w.uid for w in found}
        extra = []
        for claim in self.outbox.active_claims():
            if claim.uid in shown:
                continue
            try:
                extra.append(await self.backend.retrieve(claim.uid))
            except BackendError as exc:
                log.info("Procedure in progress %s not retrieved: %s", claim.uid, exc.sentence)
        return extra

    async def reload(self, uid: str) -> Workitem:
        """The workitem as the server has it now, shown wherever it is listed."""
        return await self._reload(uid)

    async def _reload(self, uid: str) -> Workitem:
        item = await self.backend.retrieve(uid)
        self.tell.workitem_changed(item)
        return item

    # -- what the technologist does -------------------------------------------------------------
    def _report(self, uid: str, delivery: Delivery, done: str) -> None:
        if delivery.held:
            self.tell.message("error", delivery.sentence, procedure_key(uid))
        elif delivery.sent:
            self.tell.message("info", done, procedure_key(uid))
        else:
            self.tell.message("warning", delivery.sentence, procedure_key(uid))

    def _deliver(
        self,
        w: Workitem,
        operation: Callable[[], Coroutine[Any, Any, Delivery]],
        done: str,
        busy: str,
        after: Callable[[Delivery], None] | None = None,
    ) -> asyncio.Future:
        """Run an outbox operation; say whether it was sent or kept, and show the result."""

        async def run() -> None:
            delivery = await operation()
            self._report(w.uid, delivery, done)
            self.tell.action(done if delivery.sent else delivery.sentence)
            if after is not None:
                after(delivery)
            self.tell.workitem_changed(await self._reload(w.uid) if delivery.sent else w)

        return self.spawn(run, busy, procedure_key(w.uid))

    def claim(self, workitem: Workitem) -> asyncio.Future:
        return self._deliver(
            workitem, lambda: self.outbox.claim(workitem), f"Started: {named(workitem)}.", "Starting the procedure…"
        )

    def report_progress(self, workitem: Workitem, percent: float | None, description: str) -> asyncio.Future:
        done = (
            f"Progress reported for {named(workitem)}: {percent:.0f} %."
            if percent is not None
            else f"Progress reported for {named(workitem)}."
        )
        return self._deliver(
            workitem,
            lambda: self.outbox.progress(workitem.uid, percent, description),
            done,
            "Reporting progress…",
            after=lambda _: self.tell.progress_sent(workitem.uid),
        )

    def _refused_completion(self, workitem: Workitem, performed: PerformedProcedure) -> bool:
        """A completion that cannot be (it ends before it starts, "4" as the technologist) is said
        and not sent, whichever front asked for it: the server would record it as it came."""
        problems = completion_problems(performed, datetime.now(), self.profile.staff)
        if problems:
            self.tell.message(
                "error", f"Not completed: {named(workitem)}. {refusal(problems)}", procedure_key(workitem.uid)
            )
        return bool(problems)

    def _nothing(self) -> asyncio.Future:
        done: asyncio.Future = asyncio.get_event_loop().create_future()
        done.set_result(None)
        return done

    def complete(self, workitem: Workitem, performed: PerformedProcedure) -> asyncio.Future:
        if self._refused_completion(workitem, performed):
            return self._nothing()
        return self._deliver(
            workitem, lambda: self.outbox.complete(workitem, performed), f"Completed: {named(workitem)}.", "Completing…"
        )

    def complete_unstarted(self, workitem: Workitem, performed: PerformedProcedure) -> asyncio.Future:
        if self._refused_completion(workitem, performed):
            return self._nothing()
        return self._deliver(
            workitem,
            lambda: self.outbox.complete_unstarted(workitem, performed),
            f"Completed without starting on this console: {named(workitem)}.",
            "Completing…",
        )

    def discontinue(self, workitem: Workitem, reason: Code, text: str) -> asyncio.Future:
        return self._deliver(
            workitem,
            lambda: self.outbox.discontinue(workitem, reason, text),
            f"Discontinued: {named(workitem)} ({reason.meaning}); it shows as CANCELED.",
            "Discontinuing…",
        )

    def put_back(self, workitem: Workitem, text: str = "") -> asyncio.Future:
        """Put a start made by mistake back on the worklist. The future's result is the UID of the
        replacement step where the backend creates one (UPS-RS), to be selected once listed."""
        replaces = self.backend.capabilities.put_back_replaces
        replacement = new_uid()
        done = f"Put back on the worklist: {named(workitem)}. {put_back_outcome(replaces)}"

        async def run() -> str | None:
            delivery = await self.outbox.put_back(workitem, text, replacement)
            self._report(workitem.uid, delivery, done)
            self.tell.action(done if delivery.sent else delivery.sentence)
            if not delivery.sent:
                self.tell.workitem_changed(workitem)
                return None
            await self._refresh()  # the started step leaves the list; the order is listed again
            return replacement if replaces else None

        return self.spawn(run, "Putting it back on the worklist…", procedure_key(workitem.uid))

    def request_cancellation(self, workitem: Workitem, reason: Code | None, text: str) -> asyncio.Future:
        async def run() -> None:
            await self.backend.request_cancellation(workitem.uid, reason, text)
            performed = workitem.performed
            holder = performed.station.value if performed and performed.station else ""
            asked = f"{holder}, the station performing it," if holder else "the worklist server"
            sentence = f"Cancellation of {named(workitem)} requested: {asked} has been told."
            self.tell.message("info", sentence, procedure_key(workitem.uid))
            self.tell.action(sentence + (f" Reason: {reason.meaning}." if reason else ""))
            await self._reload(workitem.uid)

        return self.spawn(run, "Requesting cancellation…", procedure_key(workitem.uid))

    def create_unscheduled(self, item: NewWorkitem, start: bool = True) -> asyncio.Future:
        async def run() -> Workitem:
            created = await self.backend.create(item)
            self.tell.workitem_changed(created)
            if start:
                delivery = await self.outbox.claim(created)
                self._report(
                    created.uid, delivery, f"Unscheduled procedure started for {created.patient_name.display()}."
                )
                if delivery.sent:
                    created = await self._reload(created.uid)
                else:
                    self.tell.workitem_changed(created)
            return created

        return self.spawn(run, "Creating the unscheduled procedure…")

    # -- what the console keeps ---------------------------------------------------------------------
    def is_mine(self, uid: str) -> bool:
        return self.outbox.claim_of(uid) is not None

    def mine_in_progress(self) -> set[str]:
        return {c.uid for c in self.outbox.active_claims()}

    def draft(self, uid: str) -> ProcedureDraft | None:
        return self.outbox.store.draft(uid)

    def save_draft(self, uid: str, draft: ProcedureDraft) -> None:
        self.outbox.store.save_draft(uid, draft)

    def waiting_elsewhere(self) -> list[Waiting]:
        return self.outbox.store.waiting_elsewhere()

    @property
    def outbox_path(self) -> Path:
        """Where the claim store lives: a console opened on another profile keeps its claims there."""
        return self.outbox.path

    @property
    def capabilities(self) -> Capabilities:
        return self.backend.capabilities

    async def retrieve(self, uid: str) -> Workitem:
        """The workitem as the server has it now, told to nobody."""
        return await self.backend.retrieve(uid)

    def pending_count(self) -> int:
        """How many reports of this profile wait to be sent."""
        return self.outbox.pending()

    def ending_waits(self, uid: str) -> str | None:
        """ "complete", "discontinue" or "put_back" while that ending of `uid` waits to be sent."""
        return self.outbox.final_pending(uid)

    def endings_waiting(self, uids: set[str] | None = None) -> dict[str, str]:
        """uid → the ending waiting to be sent, of this console's procedures in progress."""
        return {
            uid: kind for uid in (self.mine_in_progress() if uids is None else uids) if (kind := self.ending_waits(uid))
        }

    def row_marks(self, cancel_requests: dict[str, WorkitemEvent]) -> dict[str, tuple[str, str]]:
        """uid → (state shown, tooltip) of the rows that need a mark."""
        mine = self.mine_in_progress()
        return row_marks(mine, self.endings_waiting(mine), cancel_requests)

    def resume_offer(self) -> ResumeOffer:
        claims = self.outbox.active_claims()
        return resume_offer(claims, self.endings_waiting({c.uid for c in claims}))

    def waiting_to_send(self) -> list[tuple[str, str]]:
        """(what waits, of which procedure) for every report of this profile not sent yet, oldest first."""
        return [(KIND_NAMES[kind], what) for _, kind, what in self.outbox.store.waiting_list()]

    def kept_cancel_requests(self) -> list[WorkitemEvent]:
        """Cancellation requests for procedures still in progress here, kept across a restart."""
        mine = self.mine_in_progress()
        kept = []
        for uid, attributes in self.outbox.store.cancel_requests().items():
            if uid in mine:
                kept.append(parse_event(attributes))
            else:
                self.outbox.store.drop_cancel_request(uid)
        return kept

    def forget_cancel_request(self, uid: str) -> None:
        self.outbox.store.drop_cancel_request(uid)

    # -- from the backend ---------------------------------------------------------------------
    def _observe(self, exchange: Exchange) -> None:
        self.tell.exchange(exchange)

    def _on_failure(self, failure: Failure) -> None:
        self.tell.message("error", failure.sentence, procedure_key(failure.uid))

    def _on_sent(self, uid: str, kind: str, sentence: str) -> None:
        self.tell.message("info", sentence, procedure_key(uid))
        self.tell.action(sentence)
        self.spawn(lambda: self._reload(uid))

    def _on_connection(self, up: bool, sentence: str) -> None:
        was = self.connected
        self.connected = up
        if up:
            self.live_station = self.backend.followed if hasattr(self.backend, "followed") else self.live_station
        self.tell.connection(up, self.live_sentence() if up else sentence)
        if up and not was:
            self.refresh()  # re-query so nothing missed while away stays missed
            self.outbox.kick()

    def _on_event(self, event: WorkitemEvent) -> None:
        if event.event_type is EventType.CANCEL_REQUESTED and self.is_mine(event.workitem_uid):
            self.outbox.store.save_cancel_request(event.workitem_uid, event.attributes)
            self.tell.cancel_requested(event)
        if event.event_type in (
            EventType.STATE_REPORT,
            EventType.PROGRESS_REPORT,
            EventType.ASSIGNED,
            EventType.CANCEL_REQUESTED,
        ):
            self.spawn(lambda: self._reload_for(event))
        else:
            self.tell.workitem_event(event, None)
            if event.event_type is EventType.SCP_STATUS_CHANGE and event.scp_status == "RESTARTED":
                self.refresh()

    async def _reload_for(self, event: WorkitemEvent) -> None:
        """Reload the workitem an event is about, then log the event with its patient's name."""
        try:
            item = await self._reload(event.workitem_uid)
        except BackendError:
            self.tell.workitem_event(event, None)
            raise
        self.tell.workitem_event(event, item)

    def procedure_state(self, w: Workitem) -> tuple[bool, float | None, str | None]:
        """(mine, claimed at, the end that waits to be sent) for a workitem shown."""
        claim = self.outbox.claim_of(w.uid)
        mine = claim is not None and w.state in (State.IN_PROGRESS, State.SCHEDULED)
        return mine, claim.claimed_at if claim else None, self.outbox.final_pending(w.uid) if claim else None
