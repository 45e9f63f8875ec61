"""One submission through its scan. Idempotent: a finished submission is left alone, a scan done for
another submission of the same package is reused, and a scan lost with its worker (lease run out) is
taken over."""

from __future__ import annotations

import json
import os
import time

from qingdan.review.store import ReviewStore


class Busy(Exception):  # noqa: N818 - a state, not a failure: another worker holds the scan
    def __init__(self, seconds: float) -> None:
        super().__init__(f"scan held by another worker for {seconds:.1f} s more")
        self.seconds = seconds


def run_scan(path: str) -> tuple[dict | None, str | None]:
    report, error, _ = scan_package(path)
    return report, error


def scan_package(path: str):
    """(report, None, ScanResult) or (None, one-line reason, None). The package is read by qingdan.apk.package.read_package
    (inside analyze), which refuses hostile input with an ApkError before anything else is parsed."""
    from qingdan.apk.errors import ApkError
    from qingdan.checks.pipeline import analyze
    from qingdan.report.jsonreport import to_dict

    delay = os.environ.get("QINGDAN_TEST_SCAN_DELAY")  # tests: hold the scan so a worker can be killed mid-way
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


def process(store: ReviewStore, sub_id: str, lease_s: float) -> str | None:
    """Bring one submission to done or failed. Returns its final status (None: nothing to do).
    Raises Busy when another worker is scanning the same package right now."""
    sub = store.submission(sub_id)
    if sub is None or sub["status"] in ("done", "failed"):
        return None
    state, wait = store.claim_scan(sub["sha256"], lease_s)
    if state == "busy":  # not an attempt: the caller comes back later
        raise Busy(wait)
    if not store.start(sub_id):
        return None
    res = None
    if state == "claimed":
        report, error, res = scan_package(sub["path"])
        store.finish_scan(sub["sha256"], report, error)
    if sub.get("attachments_json"):
        check_attached(store, sub_id, res)
    return store.finish(sub_id)


def check_attached(store: ReviewStore, sub_id: str, res) -> None:
    """After a successful scan: the attached policy, lists and UI dumps checked, their findings merged
    into the submission's own report. The package is scanned again when another submission's worker
    scanned it (the stored report is not enough to compare with)."""
    from qingdan.review.attachments import check_attachments

    sub = store.submission(sub_id)
    if sub is None or sub["scan_status"] != "done" or not sub["scan_report_json"]:
        return
    report = json.loads(sub["scan_report_json"])
    if res is None:
        _, _, res = scan_package(sub["path"])
    try:
        merged = check_attachments(report, res, json.loads(sub["attachments_json"]))
    except Exception as exc:  # noqa: BLE001 - the scan's report stands, with a note
        merged = {**report, "warnings": [*report.get("warnings", []),
                                         f"attachments not checked: internal error ({type(exc).__name__})"]}
    store.set_report(sub_id, merged)
