"""One submission through its scan. Idempotent: a finished submission is left alone, a scan done for
another submission of the same package is reused, and a scan lost with its worker (lease run out) is
taken over."""

from __future__ import annotations

import os
import time

from qingdan.review.store import ReviewStore


class Busy(Exception):  # noqa: N818 - a state, not a failure: another worker holds the scan
    def __init__(self, seconds: float) -> None:
        super().__init__(f"scan held by another worker for {seconds:.1f} s more")
        self.seconds = seconds


def scan_package(path: str):
    """(report, None, ScanResult) or (None, one-line reason, None). The package is read by
    qingdan.apk.package.read_package (inside analyze), which refuses hostile input with an ApkError
    before anything else is parsed."""
    from qingdan.apk.errors import ApkError
    from qingdan.checks.pipeline import analyze
    from qingdan.report.jsonreport import to_dict

    # tests: hold the scan so a worker can be killed mid-way
    delay = os.environ.get("QINGDAN_TEST_SCAN_DELAY")
    if delay:
        time.sleep(float(delay))
    try:
        res, _ = analyze(path)
        return to_dict(res), None, res
    except ApkError as exc:
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, None
    except OSError as exc:
        return None, f"cannot read the stored package ({exc.strerror or exc})", None
    except Exception as exc:  # noqa: BLE001 - one line in the submission, never a dead worker
        return None, f"internal error while scanning ({type(exc).__name__})", None


def process(store: ReviewStore, sub_id: str, lease_s: float, run=None) -> str | None:
    """Bring one submission to done or failed. Returns its final status (None: nothing to do).
    Raises Busy when another worker is scanning the same package right now. Two transactions: one to
    take the submission (and the scan's lease), one to store the outcome. ``run``: how to call
    :func:`scan_job` (default: here; the in-process queue runs it in a child process)."""
    state, wait, job = store.begin(sub_id, lease_s)
    if state == "busy":  # not an attempt: the caller comes back later
        raise Busy(wait)
    if job is None:
        return None
    scanned = state == "scan"
    prior = None if scanned or not job["attachments"] else store.scan_report(job["sha256"])
    report, error, merged = (run or scan_job)(job["path"], scanned, job["attachments"], prior)
    # The scan is done and this worker holds its lease: a database away for a moment (restarting, a
    # lost connection) must not throw the outcome away and leave the package leased to nobody.
    return _patiently(lambda: store.complete(sub_id, job["sha256"], scanned, report, error, merged))


COMPLETE_PATIENCE_S = 120.0


def _patiently(fn, patience_s: float | None = None):
    """``fn()``, tried again while the database cannot be reached, for up to ``patience_s`` seconds."""
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    end = time.monotonic() + (COMPLETE_PATIENCE_S if patience_s is None else patience_s)
    pause = 0.25
    while True:
        try:
            return fn()
        except (OperationalError, InterfaceError, PoolTimeout):
            if time.monotonic() + pause > end:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def scan_job(path: str, scan: bool, attachments: list[dict] | None, prior: dict | None
             ) -> tuple[dict | None, str | None, dict | None]:
    """The part of a job that reads the package, with plain data in and out (it may run in another
    process): (the scan's report or None, its one-line error, the report merged with the attachments'
    findings or None). ``scan``: scan now; else ``prior`` is the stored report of an earlier scan."""
    report = error = res = None
    if scan:
        report, error, res = scan_package(path)
    merged = merge_attached(path, attachments, report if scan else prior, res) if attachments else None
    return report, error, merged


def merge_attached(path: str, attachments: list[dict], report: dict | None, res) -> dict | None:
    """After a successful scan: the attached policy, lists and UI dumps checked, their findings merged
    into a copy of the scan's report (None when the scan failed). The package is scanned again when
    another submission's worker scanned it (the stored report is not enough to compare with)."""
    from qingdan.review.attachments import check_attachments

    if report is None:
        return None
    if res is None:
        _, _, res = scan_package(path)
    try:
        return check_attachments(report, res, attachments)
    except Exception as exc:  # noqa: BLE001 - the scan's report stands, with a note
        return {**report, "warnings": [*report.get("warnings", []),
                                       f"attachments not checked: internal error ({type(exc).__name__})"]}
