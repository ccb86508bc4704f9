"""The DIMSE backend: the WorklistBackend over Modality Worklist C-FIND and MPPS N-CREATE/N-SET.

Blocking pynetdicom work runs on a worker thread and is awaited, so the UI never waits on
an association. MWL items become the same domain workitems as UPS-RS results (the MWL →
UPS mapping); a claim is an MPPS N-CREATE whose SOP Instance UID is the outbox's
"transaction UID", so the local claim store keeps it like a UPS Transaction UID.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from datetime import datetime

from pydicom import Dataset
from pydicom.charset import CUSTOMIZABLE_CHARSET_VR
from pydicom.uid import generate_uid
from pydicom.valuerep import PersonName
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind, Verification

from app.domain import tags as t
from app.domain.build import NewWorkitem
from app.domain.dicomjson import from_dataset
from app.domain.mapping import (
    SPS_ID,
    SPS_SEQ,
    mwl_to_ups,
    unknown_sps_status,
    ups_to_mwl,
)
from app.domain.procedure import OutputSeries, PerformedProcedure
from app.domain.status import ErrorID, Status
from app.domain.workitem import Code, Workitem
from app.domain.worklist_query import WorklistQuery

from .errors import Aborted, AlreadyFinished, BackendError, Conflict, Refused, TimedOut, Unreachable
from .profiles import Profile
from .protocol import Capabilities, ConnectionSink, EventSink, Exchange, Observer, PeerCheck

log = logging.getLogger(__name__)

RETURN_KEYS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "RequestedProcedureID",
    "RequestedProcedureDescription",
    "StudyInstanceUID",
    "AdmissionID",
    "RequestedProcedurePriority",
    "ReferringPhysicianName",
)
SPS_RETURN_KEYS = (
    "ScheduledProcedureStepStartTime",
    "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepID",
    "ScheduledStationName",
    "ScheduledProcedureStepLocation",
    "ScheduledProcedureStepStatus",
)


def mwl_identifier(query: WorklistQuery) -> Dataset:
    """The C-FIND identifier of a worklist query: Table K.6-1 matching keys plus return keys."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword in RETURN_KEYS:
        setattr(ds, keyword, "")
    ds.PatientName = query.patient_name
    ds.PatientID = query.patient_id
    ds.AccessionNumber = query.accession
    sps = Dataset()
    sps.ScheduledStationAETitle = query.station
    low = f"{query.date_from:%Y%m%d}" if query.date_from else ""
    high = f"{query.date_to:%Y%m%d}" if query.date_to else ""
    sps.ScheduledProcedureStepStartDate = low if low == high else (f"{low}-{high}" if low or high else "")
    sps.Modality = query.modality
    for keyword in SPS_RETURN_KEYS:
        setattr(sps, keyword, "")
    sps.ScheduledProtocolCodeSequence = []
    ds.ScheduledProcedureStepSequence = [sps]
    return ds


def _received_texts(answer: Dataset) -> list[bytes]:
    """Every text value of an answer without a Specific Character Set, turned back into the bytes
    that were received (pynetdicom has often decoded them already, with the default ISO 646 / Latin-1
    reading, which maps each byte to one character and so loses nothing). Person names keep theirs."""
    original = answer.original_character_set or "iso8859"
    codec = original if isinstance(original, str) else original[0]
    texts: list[bytes] = []
    for element in answer.iterall():
        if element.VR == "PN":
            names = element.value if element.VM > 1 else [element.value]
            texts += [n.original_string for n in names if isinstance(n, PersonName) and n.original_string]
        elif element.VR in CUSTOMIZABLE_CHARSET_VR and not element.is_empty:
            value = element.value
            parts = [value] if isinstance(value, (str, bytes)) else list(value)
            try:
                raw = b"\\".join(p if isinstance(p, bytes) else p.encode(codec) for p in parts)
            except UnicodeEncodeError:
                continue
            element.value = raw  # decoded again below, by the character set chosen
            texts.append(raw)
    return texts


def decode_answer(answer: Dataset, fallback_charset: str) -> dict:
    """A C-FIND answer as DICOM JSON, its text decoded by its Specific Character Set. For SCPs
    that omit it: UTF-8 when the text is valid UTF-8 and not plain ASCII (DCMTK's wlmscpfs sends
    its UTF-8 worklist files so; Latin-1 letters beyond ASCII practically never form valid UTF-8,
    ISO 2022 text is ASCII bytes), else the fallback (the profile's or `find --charset`)."""
    if "SpecificCharacterSet" not in answer:
        wide = [text for text in _received_texts(answer) if not text.isascii()]
        charset = "ISO_IR 192" if wide and all(_is_utf8(text) for text in wide) else fallback_charset
        if charset != fallback_charset:
            log.info(
                "A worklist answer names no character set and its text is UTF-8: read as UTF-8, not %s",
                fallback_charset,
            )
        answer.SpecificCharacterSet = charset
    answer.decode()
    return from_dataset(answer)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class DimseBackend:
    def __init__(self, profile: Profile, observer: Observer | None = None) -> None:
        self.profile = profile
        self.observer = observer
        self.capabilities = Capabilities(
            live_events=False,
            cancel_request=False,
            notes=[
                f"Live events are not available with MWL/MPPS: the list refreshes every {profile.poll_seconds:.0f} s."
            ],
        )
        self._items: dict[str, dict] = {}  # UPS-view UID -> the MWL item it came from
        self._unscheduled: set[str] = set()  # created here: their MPPS uses the unscheduled form
        # what this console's own MPPS made of a step: many MWL SCPs never update the SPS status
        self._states: dict[str, str] = {}
        self._unknown_told: set[tuple[str, str]] = set()  # (UID, status) already logged: polling repeats them

    # -- associations, on a worker thread -------------------------------------------------------------
    def _ae(self) -> AE:
        ae = AE(self.profile.ae_title)
        ae.acse_timeout = ae.network_timeout = self.profile.timeout
        ae.dimse_timeout = self.profile.dimse_timeout
        ae.add_requested_context(Verification)
        ae.add_requested_context(ModalityWorklistInformationFind)
        ae.add_requested_context(ModalityPerformedProcedureStep)
        return ae

    def _tls(self) -> ssl.SSLContext:
        """The client side of DICOM over TLS: the profile's CA file, else the system's trust store."""
        context = ssl.create_default_context(cafile=self.profile.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.profile.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _tls_failure(self, host: str, port: int, context: ssl.SSLContext) -> str | None:
        """Why a TLS handshake with the peer fails, in words; None when it succeeds (or the peer is not
        there at all). pynetdicom only logs it, so one handshake is tried on its own to find out."""
        try:
            with (
                socket.create_connection((host, port), timeout=self.profile.timeout) as raw,
                context.wrap_socket(raw, server_hostname=host),
            ):
                return None
        except ssl.SSLCertVerificationError as exc:
            return f"its certificate is not trusted ({exc.verify_message}); give the profile the CA file that signed it"
        except ssl.SSLError as exc:
            return f"the TLS handshake failed ({exc.reason or exc}); is DICOM over TLS on at that port?"
        except OSError:
            return None

    def _associate(self, peer: tuple[str, int, str], what: str, attempts: int = 2):
        host, port, called = peer
        where = f"{host}:{port}"
        received: list = []
        tls = self._tls() if self.profile.tls else None
        try:
            assoc = self._ae().associate(
                host,
                port,
                ae_title=called,
                evt_handlers=[(evt.EVT_ACSE_RECV, lambda e: received.append(e.primitive))],
                tls_args=(tls, host) if tls else None,
            )
        except OSError as exc:
            raise Unreachable(f"Cannot reach the {what} server at {where}.", repr(exc)) from None
        if tls and not assoc.is_established and not received:
            failure = self._tls_failure(host, port, tls)
            if failure:
                raise Unreachable(f"Cannot talk TLS with the {what} server at {where}: {failure}.", failure)
        rejected = assoc.is_rejected or any(getattr(p, "result", 0) in (1, 2) for p in received)
        if not rejected and not assoc.is_established and assoc.is_aborted and attempts > 1:
            # a peer that closes right after its A-ASSOCIATE-RJ can leave only an abort seen: ask once more
            return self._associate(peer, what, attempts - 1)
        if rejected:
            reason = next((getattr(p, "diagnostic", None) for p in received if getattr(p, "result", 0) in (1, 2)), None)
            ours = self.profile.ae_title
            if reason == 7:  # PS3.8 Table 9-21: called AE title not recognized
                sentence = (
                    f"The {what} server at {where} does not answer to the AE title {called} that {ours} called: "
                    "set the called AE title to the server's own."
                )
            else:
                sentence = f"The {what} server at {where} rejected our AE title {ours} (calling {called})."
            raise Refused(sentence, f"association rejected by {called}@{where} (reason {reason})")
        if not assoc.is_established:
            raise Unreachable(f"Cannot reach the {what} server at {where} ({called}).", f"no association with {called}")
        return assoc

    def _observe(self, direction: str, summary: str, ds: Dataset | None) -> None:
        if self.observer is not None:
            self.observer(Exchange(datetime.now(), direction, summary, (), str(ds) if ds is not None else ""))

    def _silence(self, what: str, peer: tuple[str, int, str], since: float, during: str) -> Unreachable:
        """The error for a DIMSE exchange that ended without a status. pynetdicom gives an empty
        Dataset both when the peer aborts and when its own DIMSE timeout aborts: the time taken
        tells them apart."""
        where = f"{peer[0]}:{peer[1]}"
        detail = f"no {during} status from {peer[2]}@{where} after {time.monotonic() - since:.1f} s"
        if time.monotonic() - since >= 0.9 * self.profile.dimse_timeout:
            return TimedOut(
                f"The {what} server at {where} did not answer in time ({self.profile.dimse_timeout:.0f} s).", detail
            )
        return Aborted(f"The {what} server at {where} closed the association before it answered ({during}).", detail)

    @staticmethod
    def _require_context(assoc, sop_class: str, what: str, peer: tuple[str, int, str], service: str) -> None:
        """pynetdicom raises ValueError for a service the peer did not accept: say it instead."""
        if not any(str(cx.abstract_syntax) == sop_class for cx in assoc.accepted_contexts):
            assoc.release()
            raise Refused(f"The {what} server {peer[2]} at {peer[0]}:{peer[1]} does not accept {service}.")

    def _find(self, identifier: Dataset) -> list[Dataset]:
        peer = (self.profile.mwl_host, self.profile.mwl_port, self.profile.mwl_aet)
        assoc = self._associate(peer, "worklist")
        self._require_context(assoc, ModalityWorklistInformationFind, "worklist", peer, "worklist queries (MWL C-FIND)")
        found: list[Dataset] = []
        try:
            self._observe("→", f"C-FIND MWL to {peer[2]}@{peer[0]}:{peer[1]}", identifier)
            since = time.monotonic()
            for status, answer in assoc.send_c_find(identifier, ModalityWorklistInformationFind):
                if status is None or "Status" not in status:
                    raise self._silence("worklist", peer, since, "C-FIND")
                since = time.monotonic()
                code = int(status.Status)
                if code in (Status.PENDING, Status.PENDING_OPTIONAL_KEYS_UNSUPPORTED) and answer is not None:
                    self._observe("←", f"C-FIND pending 0x{code:04X}", answer)
                    found.append(answer)
                elif code != Status.SUCCESS:
                    comment = getattr(status, "ErrorComment", "")
                    raise Refused(
                        f"The worklist server refused the query (status 0x{code:04X}{': ' + comment if comment else ''})."
                    )
                else:
                    self._observe("←", "C-FIND success 0x0000", None)
        finally:
            assoc.release()
        return found

    def _mpps(self, send) -> Dataset:
        peer = self.profile.mpps_peer
        assoc = self._associate(peer, "MPPS")
        self._require_context(assoc, ModalityPerformedProcedureStep, "MPPS", peer, "procedure step reports (MPPS)")
        since = time.monotonic()
        try:
            status, answer = send(assoc)
        finally:
            assoc.release()
        if status is None or "Status" not in status:
            raise self._silence("MPPS", peer, since, "MPPS")
        code = int(status.Status)
        self._observe("←", f"MPPS status 0x{code:04X}", answer)
        if code == Status.PROCESSING_FAILURE and getattr(status, "ErrorID", None) == ErrorID.MPPS_NO_LONGER_UPDATABLE:
            raise AlreadyFinished("The performed procedure step was already finished.", status=code)
        if code != Status.SUCCESS:
            comment = getattr(status, "ErrorComment", "")
            error = Conflict if code in (Status.PROCESSING_FAILURE, Status.DUPLICATE_INSTANCE) else Refused
            raise error(
                f"The MPPS server refused the report (status 0x{code:04X}{': ' + comment if comment else ''}).",
                status=code,
            )
        return status

    # -- the worklist --------------------------------------------------------------------------------
    async def search(self, query: WorklistQuery) -> list[Workitem]:
        answers = await asyncio.to_thread(self._find, mwl_identifier(query))
        items = []
        for answer in answers:
            mwl = decode_answer(answer, self.profile.fallback_charset)
            workitem = self._workitem(mwl)
            self._items[workitem.uid] = mwl
            if query.accepts(workitem):
                items.append(workitem)
        return items

    async def retrieve(self, uid: str) -> Workitem:
        mwl = self._items.get(uid)
        if mwl is None:
            raise Refused("This procedure is no longer on the worklist.")
        return self._workitem(mwl)

    def _workitem(self, mwl: dict) -> Workitem:
        ups = mwl_to_ups(mwl)
        uid = ups[t.SOP_INSTANCE_UID]["Value"][0]
        unknown = unknown_sps_status(ups)
        if unknown and (uid, unknown) not in self._unknown_told:
            self._unknown_told.add((uid, unknown))
            log.warning(
                "The worklist server %s sent the Scheduled Procedure Step Status %r, which is not a known term: "
                "step %s (accession %s) is shown as in progress and not offered for starting",
                self.profile.mwl_aet,
                unknown,
                _text(((mwl.get(SPS_SEQ) or {}).get("Value") or [{}])[0], SPS_ID),
                _text(mwl, t.ACCESSION_NUMBER),
            )
        state = self._states.get(uid)
        if state and ups[t.PROCEDURE_STEP_STATE]["Value"] == ["SCHEDULED"] or state in ("COMPLETED", "CANCELED"):
            ups[t.PROCEDURE_STEP_STATE] = {"vr": "CS", "Value": [state]}
        return Workitem(ups)

    # -- MPPS ----------------------------------------------------------------------------------------
    def _n_create(self, uid: str, mpps_uid: str) -> None:
        mwl = self._items.get(uid)
        if mwl is None:  # a claim kept from an older console, before a search listed the item: retried
            raise Unreachable(
                "The start waits until the worklist lists this procedure again.",
                f"{uid} not in the MWL answers of this session",
            )
        now = datetime.now()
        sps = ((mwl.get(SPS_SEQ) or {}).get("Value") or [{}])[0]
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 192"
        step = Dataset()
        step.StudyInstanceUID = _text(mwl, t.STUDY_INSTANCE_UID) or generate_uid()
        step.AccessionNumber = _text(mwl, t.ACCESSION_NUMBER)
        step.RequestedProcedureID = _text(mwl, t.REQUESTED_PROCEDURE_ID)
        step.RequestedProcedureDescription = _text(mwl, t.REQUESTED_PROCEDURE_DESCRIPTION)
        step.ScheduledProcedureStepID = _text(sps, SPS_ID)
        if uid in self._unscheduled:  # F.7.2: no scheduled step, only the study the images join
            step.AccessionNumber = step.RequestedProcedureID = step.ScheduledProcedureStepID = ""
        step.ScheduledProcedureStepDescription = _text(sps, "00400007")
        step.ReferencedStudySequence = []
        step.ScheduledProtocolCodeSequence = []
        ds.ScheduledStepAttributesSequence = [step]
        person = ((mwl.get(t.PATIENT_NAME) or {}).get("Value") or [None])[0]
        ds.PatientName = (person or {}).get("Alphabetic", "") if isinstance(person, dict) else (person or "")
        ds.PatientID = _text(mwl, t.PATIENT_ID)
        ds.PatientBirthDate = _text(mwl, t.BIRTH_DATE)
        ds.PatientSex = _text(mwl, t.SEX)
        ds.ReferencedPatientSequence = []
        ds.PerformedProcedureStepID = mpps_uid[-16:]
        ds.PerformedStationAETitle = self.profile.ae_title
        ds.PerformedStationName = self.profile.station_code[:16]
        ds.PerformedLocation = ""
        ds.PerformedProcedureStepStartDate = now.strftime("%Y%m%d")
        ds.PerformedProcedureStepStartTime = now.strftime("%H%M%S")
        ds.PerformedProcedureStepStatus = "IN PROGRESS"
        ds.PerformedProcedureStepDescription = _text(sps, "00400007")
        ds.PerformedProcedureTypeDescription = ""
        ds.ProcedureCodeSequence = []
        ds.PerformedProcedureStepEndDate = ""
        ds.PerformedProcedureStepEndTime = ""
        ds.Modality = _text(sps, "00080060") or "OT"
        ds.StudyID = ""
        ds.PerformedProtocolCodeSequence = []
        ds.PerformedSeriesSequence = []
        self._observe("→", f"MPPS N-CREATE {mpps_uid}", ds)
        try:
            self._mpps(lambda assoc: assoc.send_n_create(ds, ModalityPerformedProcedureStep, mpps_uid))
        except Conflict as exc:
            if exc.status != Status.DUPLICATE_INSTANCE:  # our own N-CREATE, retried after a lost answer
                raise

    def _n_set(self, mpps_uid: str, ds: Dataset) -> None:
        self._observe("→", f"MPPS N-SET {mpps_uid}", ds)
        self._mpps(lambda assoc: assoc.send_n_set(ds, ModalityPerformedProcedureStep, mpps_uid))

    def claim_record(self, workitem: Workitem) -> dict:
        mwl = self._items.get(workitem.uid)
        return {"mwl": mwl, "unscheduled": workitem.uid in self._unscheduled} if mwl is not None else {}

    async def claim(self, uid: str, transaction_uid: str, record: dict | None = None) -> None:
        if uid not in self._items and record and record.get("mwl"):  # a claim kept across a restart
            self._items[uid] = record["mwl"]
            if record.get("unscheduled"):
                self._unscheduled.add(uid)
        await asyncio.to_thread(self._n_create, uid, transaction_uid)
        self._states[uid] = "IN PROGRESS"

    async def report_progress(self, uid: str, transaction_uid: str, percent: float | None, description: str) -> None:
        ds = Dataset()
        ds.CommentsOnThePerformedProcedureStep = " ".join(
            p for p in (f"{percent:.0f} %" if percent is not None else "", description) if p
        )[:10240]
        await asyncio.to_thread(self._n_set, transaction_uid, ds)

    async def set_performed(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None:
        await asyncio.to_thread(self._n_set, transaction_uid, _performed_set(performed))

    async def complete(self, uid: str, transaction_uid: str, performed: PerformedProcedure) -> None:
        ds = _performed_set(performed, final=True)
        ds.PerformedProcedureStepStatus = "COMPLETED"
        try:
            await asyncio.to_thread(self._n_set, transaction_uid, ds)
        except AlreadyFinished:
            pass  # a retry of a completion whose answer was lost is done
        self._states[uid] = "COMPLETED"

    async def discontinue(self, uid: str, transaction_uid: str, reason: Code, text: str) -> None:
        ds = Dataset()
        ds.PerformedProcedureStepStatus = "DISCONTINUED"
        now = datetime.now()
        ds.PerformedProcedureStepEndDate = now.strftime("%Y%m%d")
        ds.PerformedProcedureStepEndTime = now.strftime("%H%M%S")
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [reason.to_item()]
        if text:
            ds.CommentsOnThePerformedProcedureStep = text
        try:
            await asyncio.to_thread(self._n_set, transaction_uid, ds)
        except AlreadyFinished:
            pass  # a retry of a discontinuation whose answer was lost is done
        self._states[uid] = "CANCELED"

    async def request_cancellation(self, uid: str, reason: Code | None, text: str) -> None:
        raise Refused("Cancellation requests are not part of MWL/MPPS; ask the RIS to cancel the order.")

    async def create(self, item: NewWorkitem) -> Workitem:
        """An unscheduled procedure: known only here until its MPPS N-CREATE reports it."""
        self._items[item.uid] = ups_to_mwl(item.to_json())
        self._unscheduled.add(item.uid)
        return Workitem(item.to_json())

    async def watch(self, on_event: EventSink, on_connection: ConnectionSink) -> None:
        on_connection(False, self.capabilities.notes[0])

    async def follow(self, station: str) -> None:
        return None  # no events over MWL: every refresh queries what is shown

    def _check(self, peer: tuple[str, int, str], what: str, services: dict[str, str]) -> PeerCheck:
        """Associate, echo, and say which of `services` (SOP class UID → plain name) the peer
        accepts: an echo alone does not prove that a server keeps a worklist."""
        try:
            assoc = self._associate(peer, what)
        except BackendError as exc:
            return PeerCheck(False, exc.sentence)
        name = f"The {what} server {peer[2]} at {peer[0]}:{peer[1]}"
        try:
            accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
            echoed = False
            if Verification in accepted:
                since = time.monotonic()
                status = assoc.send_c_echo()
                if status is None or "Status" not in status:
                    return PeerCheck(False, self._silence(what, peer, since, "C-ECHO").sentence)
                echoed = int(status.Status) == 0
        finally:
            assoc.release()
        answers = "answers C-ECHO and " if echoed else ""
        missing = [label for uid, label in services.items() if uid not in accepted]
        if not missing:
            return PeerCheck(True, f"{name} {answers}accepts {' and '.join(services.values())}.")
        return PeerCheck(False, f"{name} {answers or 'answers, but '}does not accept {' or '.join(missing)}.")

    async def check_peers(self) -> list[PeerCheck]:
        mwl = (self.profile.mwl_host, self.profile.mwl_port, self.profile.mwl_aet)
        worklist = {ModalityWorklistInformationFind: "worklist queries (MWL C-FIND)"}
        mpps = {ModalityPerformedProcedureStep: "procedure step reports (MPPS)"}
        if self.profile.mpps_peer == mwl:
            return [await asyncio.to_thread(self._check, mwl, "worklist", worklist | mpps)]
        return [
            await asyncio.to_thread(self._check, mwl, "worklist", worklist),
            await asyncio.to_thread(self._check, self.profile.mpps_peer, "MPPS", mpps),
        ]

    async def close(self) -> None:
        return None


def _text(ds: dict, tag: str) -> str:
    values = (ds.get(tag) or {}).get("Value") or []
    value = values[0] if values else ""
    if isinstance(value, dict):
        return str(value.get("Alphabetic", ""))
    return "" if value is None else str(value)


def _performed_set(performed: PerformedProcedure, final: bool = False) -> Dataset:
    """The N-SET of what was performed (F.7.2-1: series, procedure codes, end time)."""
    ds = Dataset()
    if performed.end or final:
        end = performed.end or datetime.now().strftime("%Y%m%d%H%M%S")
        ds.PerformedProcedureStepEndDate = end[:8]
        ds.PerformedProcedureStepEndTime = end[8:14]
    ds.ProcedureCodeSequence = [c.to_item() for c in performed.procedures]
    series_list = list(performed.series)
    if final and not series_list:  # F.7: a final MPPS lists at least one series
        series_list = [OutputSeries(generate_uid(), "No images")]
    ds.PerformedSeriesSequence = [_series(s, performed.technologist) for s in series_list]
    return ds


def _series(output: OutputSeries, technologist: str) -> Dataset:
    series = Dataset()
    series.SeriesInstanceUID = output.series_uid
    series.SeriesDescription = output.description
    series.ProtocolName = output.description or "Protocol"
    series.OperatorsName = technologist
    series.PerformingPhysicianName = ""
    series.RetrieveAETitle = output.retrieve_ae
    refs = []
    for sop_class, sop_instance in output.instances:
        ref = Dataset()
        ref.ReferencedSOPClassUID = sop_class
        ref.ReferencedSOPInstanceUID = sop_instance
        refs.append(ref)
    series.ReferencedImageSequence = refs
    series.ReferencedNonImageCompositeSOPInstanceSequence = []
    return series
