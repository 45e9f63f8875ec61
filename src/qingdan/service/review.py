"""The app-store review API: ``router``, included in the service's app by ``create_app``.

``POST /v1/review/submissions`` (developer key): either the raw package as the body
(``Content-Type: application/vnd.android.package-archive``, ``?app=`` the package name), or multipart
(``app`` = package name, ``file`` = the package; optional ``policy`` (.html/.txt), ``lists``
(privacy-lists.yaml), ``ui`` (uiautomator .xml / GKD .json, repeatable), checked by the worker after
the scan)
· ``GET /v1/review/submissions`` (newest first; ``status``, ``app``, ``limit``, ``before``)
· ``GET /v1/review/submissions/{id}`` (+ ``/report.json``, ``/report.html``)
· ``POST /v1/review/submissions/{id}/verdict`` (reviewer key)
· ``GET /v1/review/apps/{package}/history`` · ``POST /v1/review/batch`` (reviewer key).
A developer sees only their own apps and submissions (others' are 404) and may not give verdicts
(403); a reviewer sees everything. A package name is claimed by the first developer upload whose scan
succeeds with that name (an upload for another account's app is 403 before its body is read); the
first version's signing certificates bind later ones. Errors are ``{"error": {"code", "message"}}``
like the ledger's.
"""

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from qingdan.apk.package import PACKAGE_SUFFIXES
from qingdan.checks.findings import count_by_severity
from qingdan.review.attachments import (
    ATTACH_MAX,
    ATTACH_TOTAL,
    KINDS,
    BadAttachment,
    count_check,
    store_all,
    validate,
)
from qingdan.review.storage import BadFolder, NotAPackage, Storage, StorageFull, TooLarge, batch_files
from qingdan.review.store import Forbidden, ReviewStore
from qingdan.review.suggestion import verdict_suggestion
from qingdan.service.deps import JobsDep, ReviewSettingsDep, ReviewStoreDep, StorageDep, bearer_token
from qingdan.service.errors import ServiceError
from qingdan.service.inputs import Ident, Text, bad_char

MAX_BATCH = 1000
# a raw-body upload: the package bytes as they are (``curl --data-binary @app.apk``), no form encoding
APP_Q = "the package name (raw-body uploads; a multipart form gives it as the field app)"
RAW_TYPES = ("application/vnd.android.package-archive", "application/octet-stream", "application/zip")
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    **{t: {"schema": {"type": "string", "format": "binary"}} for t in RAW_TYPES},
    "multipart/form-data": {"schema": {"type": "object", "required": ["app", "file"], "properties": {
        "app": {"type": "string", "description": "the package name"},
        "file": {"type": "string", "format": "binary", "description": "the package (.apk)"},
        "policy": {"type": "string", "format": "binary", "description": "privacy policy (.html, .htm, .txt)"},
        "lists": {"type": "string", "format": "binary",
                  "description": "the double lists (privacy-lists.yaml)"},
        "ui": {"type": "array", "items": {"type": "string", "format": "binary"},
               "description": "UI dumps (uiautomator .xml, GKD .json)"}}}}}}}


# the API's report page: no scripts, no framing by anyone (the console frames its own copy, same origin)
REPORT_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                             "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                  "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    rules: list[Ident] = Field(default_factory=list, max_length=200,
                               description="rule ids chosen among the submission's findings")
    note: Text = Field(default="", max_length=5000)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256s: list[Ident] | None = Field(default=None, max_length=MAX_BATCH)
    folder: Ident | None = Field(default=None, description="a server folder below QINGDAN_BATCH_ROOT"
                                 " (a relative one is taken from there)"
                                 f"; its {', '.join(PACKAGE_SUFFIXES)} files")


def who(store: ReviewStoreDep, authorization: Annotated[str | None, Header()] = None) -> dict:
    """The account of the request's API key; 401 without one or with an unknown or disabled one."""
    acc = store.authenticate(bearer_token(authorization))
    if acc is None:
        raise ServiceError(401, "unauthorized", "unknown or disabled review account key")
    return acc


Who = Annotated[dict, Depends(who)]


def visible(store: ReviewStore, sub_id: str, acc: dict) -> dict:
    sub = store.visible_submission(sub_id, acc)
    if sub is None:
        raise ServiceError(404, "not_found", f"no submission {sub_id}")
    return sub


def view(store: ReviewStore, sub: dict) -> dict:
    status = sub["status"]
    out = {"id": sub["id"], "app": sub["package"], "sha256": sub["sha256"], "size": sub["size"],
           "version_name": sub["version_name"], "version_code": sub["version_code"], "status": status,
           "progress": {"queued": 0.0, "running": 0.5}.get(status, 1.0), "attempts": sub["attempts"],
           "error": sub["error"], "created_at": _iso(sub["created_at"]),
           "started_at": _iso(sub["started_at"]),
           "finished_at": _iso(sub["finished_at"]), "summary": None,
           "verdicts": store.verdicts([sub["id"]])[sub["id"]]}
    if status == "done" and sub["report_json"]:
        rep = json.loads(sub["report_json"])
        out["summary"] = {
            "label": rep["app"].get("label"), "findings": count_by_severity(rep["findings"]),
            "rules": sorted({f["rule"] for f in rep["findings"]}),
            "sdks": sorted(d["id"] for d in rep["sdks"] if d["confidence"] != "low"),
            "permissions": len(rep["permissions"]),
            "packing": (rep.get("packing") or {}).get("packer"),
            "suggestion": verdict_suggestion(rep),
        }
        out["links"] = {"report_json": f"/v1/review/submissions/{sub['id']}/report.json",
                        "report_html": f"/v1/review/submissions/{sub['id']}/report.html"}
    return out


def report_of(sub: dict) -> dict:
    if sub["status"] != "done" or not sub["report_json"]:
        raise ServiceError(409, "not_ready", f"submission {sub['id']} is {sub['status']}; no report"
                           + (f": {sub['error']}" if sub["error"] else ""))
    return json.loads(sub["report_json"])


router = APIRouter(prefix="/v1/review", tags=["review"])


@router.post("/submissions", status_code=202, openapi_extra=UPLOAD_BODY,
             summary="Upload a package for review: the raw package as the body (?app=PACKAGE), or multipart"
                     " (fields app, file; optional policy, lists, ui (repeatable))")
async def upload(request: Request, acc: Who, store: ReviewStoreDep, rs: ReviewSettingsDep,
                 storage: StorageDep, jobs: JobsDep,
                 app_q: Annotated[str | None, Query(alias="app", description=APP_Q)] = None) -> JSONResponse:
    """Developers only. The package streams to the store (hashed, size-capped, checked for the zip
    signature) and is queued for a scan; nothing is parsed here. 202 with the submission's id, or 200
    when the same package, name and attachments were submitted before (``duplicate``). An app that
    another account has claimed is refused (403) before the body is read."""
    if acc["role"] != "developer":
        raise ServiceError(403, "forbidden",
                           "only developer accounts submit packages; reviewers use /v1/review/batch")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > rs.max_upload_bytes + ATTACH_TOTAL + 64 * 1024:
        mib = rs.max_upload_bytes // (1024 * 1024)
        raise ServiceError(413, "too_large", f"the upload is larger than the limit of {mib} MiB")
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    async def may_submit(package: str) -> None:  # another account's app: 403 before the package is read
        try:
            await run_in_threadpool(store.check_upload, package.strip(), acc["id"])
        except Forbidden as exc:
            raise ServiceError(403, "forbidden", str(exc)) from None

    if (app_q or "").strip():
        await may_submit(app_q)
    if ctype in RAW_TYPES:
        if not (app_q or "").strip() or len(app_q.strip()) > 255:  # refused before the body is read
            raise ServiceError(422, "invalid_request", "give the package name as the query parameter `app`")
        fields, attached = {"app": app_q or ""}, []
        sha, size = await _receive_raw(request, storage, rs.max_upload_bytes)
    else:
        fields, sha, size, attached = await _receive(request, storage, rs.max_upload_bytes,
                                                     None if (app_q or "").strip() else may_submit)
    package = (fields.get("app") or app_q or "").strip()
    if not package or len(package) > 255:
        raise ServiceError(422, "invalid_request", "the form field `app` (the package name) is required")

    def record() -> tuple[str, bool, str]:  # database and broker: off the event loop
        sub_id, dup, status = store.submit(package, acc["id"], sha, str(storage.path(sha)), size,
                                           store_all(storage, attached))
        if not dup:
            jobs.submit(sub_id)
        return sub_id, dup, status

    try:
        sub_id, dup, status = await run_in_threadpool(record)
    except Forbidden as exc:
        raise ServiceError(403, "forbidden", str(exc)) from None
    return JSONResponse({"id": sub_id, "status": status, "sha256": sha, "duplicate": dup},
                        status_code=200 if dup else 202)


@router.get("/submissions",
            summary="Submissions, newest first: a developer's own apps, or all for a reviewer")
def list_submissions(acc: Who, store: ReviewStoreDep,
                     status: Annotated[Literal["queued", "running", "done", "failed"] | None, Query()] = None,
                     app_q: Annotated[str | None, Query(alias="app", description="a package name")] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     before: Annotated[str | None, Query(description="a submission id: the page after it"
                                                         " (the previous page's `next`)")] = None) -> dict:
    """A page of at most ``limit`` submissions; ``next`` is the id to pass as ``before`` for the next
    page (null on the last one)."""
    try:
        rows = store.list_submissions(acc, status, app_q, limit, before)
    except LookupError as exc:
        raise ServiceError(404, "not_found", str(exc)) from None
    items = [{"id": r["id"], "app": r["package"], "sha256": r["sha256"], "status": r["status"],
              "version_name": r["version_name"], "version_code": r["version_code"], "error": r["error"],
              "created_at": _iso(r["created_at"]), "finished_at": _iso(r["finished_at"])} for r in rows]
    return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}


@router.get("/submissions/{sub_id}", summary="Status, progress and summary of a submission")
def get_submission(sub_id: str, acc: Who, store: ReviewStoreDep) -> dict:
    """The summary (finding counts, rules, SDKs, permissions) and report links once the scan is done;
    the verdicts given so far. Another developer's submission is 404."""
    return view(store, visible(store, sub_id, acc))


@router.get("/submissions/{sub_id}/report.json", summary="The full report (qingdan.report/1)")
def get_report(sub_id: str, acc: Who, store: ReviewStoreDep) -> Response:
    """409 while the submission is queued or running, or when its scan failed."""
    rep = report_of(visible(store, sub_id, acc))
    return Response(json.dumps(rep, ensure_ascii=False), media_type="application/json")


@router.get("/submissions/{sub_id}/report.html", response_class=HTMLResponse, summary="The HTML report")
def get_report_html(sub_id: str, acc: Who, store: ReviewStoreDep) -> HTMLResponse:
    """The report as a page without scripts, which no other site may frame; 409 until it is ready."""
    from qingdan.report.html import render_html

    rep = report_of(visible(store, sub_id, acc))
    return HTMLResponse(render_html(rep), headers=REPORT_HEADERS)


@router.post("/submissions/{sub_id}/verdict", status_code=201, summary="Approve or reject (reviewers)")
def post_verdict(sub_id: str, body: VerdictIn, acc: Who, store: ReviewStoreDep) -> dict:
    """The reasons are rule ids among the submission's findings; a rejection needs a reason (rules or a
    note). Every verdict is kept: a later one does not replace an earlier one."""
    sub = visible(store, sub_id, acc)
    if acc["role"] != "reviewer":
        raise ServiceError(403, "forbidden", "only reviewers give verdicts")
    rep = report_of(sub)
    found = {f["rule"] for f in rep["findings"]}
    unknown = sorted(set(body.rules) - found)
    if unknown:
        raise ServiceError(422, "invalid_reason",
                           f"not among this submission's findings: {', '.join(unknown)}")
    if body.decision == "reject" and not body.rules and not body.note.strip():
        raise ServiceError(422, "invalid_reason", "a rejection needs a reason: finding rule ids or a note")
    rules = list(dict.fromkeys(body.rules))
    v = store.add_verdict(sub_id, acc["id"], body.decision, rules, body.note.strip())
    return {"submission": sub_id, **v, "reviewer": acc["name"]}


@router.get("/apps/{package}/history", summary="Versions, verdicts and the diff between consecutive versions")
def history(package: str, acc: Who, store: ReviewStoreDep) -> dict:
    """The app's submissions by version code, each with its verdicts, and the report diff of each
    scanned version against the scanned version before it."""
    from qingdan.report.diff import diff_reports

    a = store.visible_app(package, acc)
    if a is None:
        raise ServiceError(404, "not_found", f"no app {package}")
    subs = store.app_submissions(a["id"])
    vs = store.verdicts([s["id"] for s in subs])
    versions, diffs, prev = [], [], None
    for s in subs:
        versions.append({"submission": s["id"], "version_name": s["version_name"],
                         "version_code": s["version_code"],
                         "sha256": s["sha256"], "status": s["status"], "created_at": _iso(s["created_at"]),
                         "verdicts": vs[s["id"]]})
        if s["status"] == "done" and s["report_json"]:
            rep = json.loads(s["report_json"])
            if prev is not None:
                diffs.append({"from": prev[0], "to": s["id"], "diff": diff_reports(prev[1], rep)})
            prev = (s["id"], rep)
    return {"app": package, "owner": a["owner_id"], "versions": versions, "diffs": diffs}


@router.post("/batch", status_code=202,
             summary="Many submissions: stored sha256s or a server folder (reviewers)")
def batch(body: BatchIn, acc: Who, store: ReviewStoreDep, rs: ReviewSettingsDep, storage: StorageDep,
          jobs: JobsDep) -> dict:
    """Either packages already in the store (by sha256) or the package files of a folder below
    QINGDAN_BATCH_ROOT; each becomes a submission without an app until its scan names one. Items that
    cannot be submitted say why; the others are queued."""
    if acc["role"] != "reviewer":
        raise ServiceError(403, "forbidden", "only reviewers submit batches")
    if bool(body.sha256s) == bool(body.folder):
        raise ServiceError(422, "invalid_request", "give either sha256s or folder")
    items: list[dict] = []
    if body.sha256s:
        for sha in body.sha256s:
            sha = sha.lower()
            if not storage.has(sha):
                items.append({"sha256": sha, "error": "no such stored package"})
                continue
            items.append({"sha256": sha, "source": None,
                          "size": storage.path(sha).stat().st_size})
    else:
        if rs.batch_root is None:
            raise ServiceError(403, "forbidden", "folder batches are off (set QINGDAN_BATCH_ROOT)")
        try:
            files = batch_files(rs.batch_root, body.folder, PACKAGE_SUFFIXES, MAX_BATCH)
        except BadFolder as exc:
            if exc.too_many:
                raise ServiceError(413, "batch_too_large",
                                   f"at most {MAX_BATCH} packages per batch") from None
            raise ServiceError(400, "bad_request", str(exc)) from None
        for source, p in files:
            try:
                sha, size = storage.put_file(p, rs.max_upload_bytes, inside=rs.batch_root)
            except TooLarge as exc:
                items.append({"source": source, "error": str(exc)})
                continue
            except OSError as exc:
                items.append({"source": source, "error": exc.strerror or str(exc)})
                continue
            items.append({"sha256": sha, "source": source, "size": size})
    for it in items:
        if "error" in it:
            continue
        size = it.pop("size")
        path = str(storage.path(it["sha256"]))
        it["id"], _ = store.create_submission(None, acc["id"], it["sha256"], path, size)
        jobs.submit(it["id"])
    return {"submitted": sum(1 for it in items if "id" in it), "items": items}


async def _receive(request: Request, storage: Storage, limit: int, may_submit=None
                   ) -> tuple[dict[str, str], str, int, list[tuple[str, str, bytes]]]:
    """Stream a multipart body: the ``file`` part goes straight to the storage folder (hashed, counted,
    its first bytes checked for the zip signature); small text fields are kept; attachments (``policy``,
    ``lists``, ``ui``) are held in memory up to their limit and checked for name, type and encoding.
    Nothing is parsed as a package here. ``may_submit``: awaited with the ``app`` field as soon as it
    has arrived (an app that is not the uploader's stops the upload there)."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise ServiceError(415, "unsupported_media_type",
                           "send multipart/form-data with the fields app and file")
    fields: dict[str, str] = {}
    attached: list[tuple[str, str, bytes]] = []
    state: dict = {"name": None, "hdr": b"", "val": b"", "headers": {}, "buf": b"", "writer": None,
                   "done": None}

    def on_part_begin():
        state.update(name=None, headers={}, buf=b"")

    def on_header_field(data, start, end):
        state["hdr"] += data[start:end]

    def on_header_value(data, start, end):
        state["val"] += data[start:end]

    def on_header_end():
        state["headers"][state["hdr"].lower()] = state["val"]
        state["hdr"], state["val"] = b"", b""

    def on_headers_finished():
        _, p = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = p.get(b"name", b"").decode("utf-8", "replace")
        if state["name"] == "file":
            if state["writer"] is not None:
                raise ServiceError(422, "invalid_request", "one file per submission")
            state["writer"] = storage.writer(limit)

    def on_part_data(data, start, end):
        if state["name"] == "file":
            state["writer"].write(bytes(data[start:end]))
        elif state["name"] in KINDS:
            state["buf"] += data[start:end]
            if len(state["buf"]) > ATTACH_MAX:
                raise ServiceError(413, "too_large",
                                   f"the attached {state['name']} file is larger than the limit of "
                                                    f"{ATTACH_MAX // (1024 * 1024)} MiB")
        else:
            state["buf"] += data[start:end]
            if len(state["buf"]) > 4096:
                raise ServiceError(413, "too_large", f"form field {state['name']!r} is too long")

    def on_part_end():
        if state["name"] == "file":
            state["done"] = True  # committed (fsync, rename) after the body, off the event loop
        elif state["name"] in KINDS:
            _, p = parse_options_header(state["headers"].get(b"content-disposition", b""))
            fname = p.get(b"filename", b"").decode("utf-8", "replace")
            ctype = state["headers"].get(b"content-type", b"").decode("latin-1")
            if fname or state["buf"]:  # an empty optional file input is no attachment
                name = validate(state["name"], fname, ctype, bytes(state["buf"]))
                attached.append((state["name"], name, bytes(state["buf"])))
                count_check(attached)
        elif state["name"]:
            value = state["buf"].decode("utf-8", "replace")
            if (c := bad_char(state["name"]) or bad_char(value)) is not None:  # before the file is kept
                raise ServiceError(422, "invalid_request",
                                  f"form field {state['name']!r}: control character {c} is not allowed")
            fields[state["name"]] = value

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished})
    try:
        checked = may_submit is None
        async for chunk in request.stream():
            parser.write(chunk)
            if not checked and "app" in fields:
                checked = True
                await may_submit(fields["app"])
        parser.finalize()
        if state["done"]:
            state["done"] = await run_in_threadpool(state["writer"].commit)
            state["writer"] = None
    except TooLarge as exc:
        raise ServiceError(413, "too_large", f"the package is {exc}") from None
    except NotAPackage as exc:
        raise ServiceError(415, "not_a_package", f"the upload is {exc}") from None
    except BadAttachment as exc:
        raise ServiceError(415, "bad_attachment", str(exc)) from None
    except (ServiceError, StorageFull):  # the disk full: 507 (qingdan.service.faults)
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed body
        raise ServiceError(400, "bad_request", f"malformed multipart body ({type(exc).__name__})") from None
    finally:
        if state["writer"] is not None:
            state["writer"].discard()
    if state["done"] is None:
        raise ServiceError(422, "invalid_request", "the form field `file` (the package) is required")
    sha, size = state["done"]
    return fields, sha, size, attached


async def _receive_raw(request: Request, storage: Storage, limit: int) -> tuple[str, int]:
    """Stream a raw package body to the storage folder (hashed, counted, its first bytes checked for
    the zip signature); (sha256, size). Nothing is parsed as a package here."""
    w = storage.writer(limit)
    try:
        async for chunk in request.stream():
            if chunk:
                w.write(chunk)
        if w.size == 0:
            raise ServiceError(422, "invalid_request", "the body is empty: send the package's bytes")
        return await run_in_threadpool(w.commit)
    except TooLarge as exc:
        raise ServiceError(413, "too_large", f"the package is {exc}") from None
    except NotAPackage as exc:
        raise ServiceError(415, "not_a_package", f"the upload is {exc}") from None
    finally:
        w.discard()


def _iso(v) -> str | None:
    from qingdan.db.util import as_utc

    return as_utc(v).isoformat() if v is not None else None
