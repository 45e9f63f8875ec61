"""What may come with a submission besides the package: its privacy policy (``policy``, .html/.txt),
the double lists (``lists``, privacy-lists.yaml) and UI dumps (``ui``, uiautomator .xml or GKD .json,
several). Checked at upload for name, content type, size and encoding, stored beside the package (one
file per sha256), and checked by the worker after the scan: their findings join the submission's report.
A file that cannot be read or parsed is a warning of the report, never a failed submission."""

from __future__ import annotations

import codecs
import copy
from pathlib import Path
from typing import Any

ATTACH_MAX = 2 * 1024 * 1024  # bytes per attached file
MAX_UI = 20  # UI dumps per submission
ATTACH_TOTAL = ATTACH_MAX * (2 + MAX_UI)
_ANY = {"", "application/octet-stream", "text/plain"}
KINDS: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "policy": ((".html", ".htm", ".txt"), _ANY | {"text/html", "application/xhtml+xml"}),
    "lists": ((".yaml", ".yml"),
              _ANY | {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}),
    "ui": ((".xml", ".json"), _ANY | {"text/xml", "application/xml", "application/json"}),
}
LABEL = {"policy": "privacy policy", "lists": "double lists", "ui": "UI dump"}


class BadAttachment(ValueError):
    """An attached file refused at upload (the message names the file and the reason)."""


def clean_name(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in name if ch.isprintable())[:200]


def validate(kind: str, filename: str | None, content_type: str | None, data: bytes) -> str:
    """The file's clean name; raises :class:`BadAttachment` for a wrong name, type, size or encoding."""
    suffixes, types = KINDS[kind]
    name = clean_name(filename)
    what = f"{LABEL[kind]} {name or '(no name)'}"
    if not name.lower().endswith(suffixes):
        raise BadAttachment(f"{what}: the file name must end with {' or '.join(suffixes)}")
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype not in types:
        raise BadAttachment(f"{what}: content type {ctype} is not accepted")
    if len(data) > ATTACH_MAX:
        raise BadAttachment(f"{what}: larger than the limit of {ATTACH_MAX // (1024 * 1024)} MiB")
    if not data.strip():
        raise BadAttachment(f"{what}: the file is empty")
    if kind == "policy":
        from qingdan.policy.read import PolicyError, decode

        if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise BadAttachment(f"{what}: binary data, not a text or HTML policy")
        try:
            decode(data)
        except PolicyError as exc:
            raise BadAttachment(f"{what}: {exc}") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadAttachment(f"{what}: not UTF-8 text") from None
        if "\x00" in text:
            raise BadAttachment(f"{what}: binary data, not text")
    return name


def count_check(items: list[tuple[str, str, bytes]]) -> None:
    kinds = [k for k, _, _ in items]
    for k in ("policy", "lists"):
        if kinds.count(k) > 1:
            raise BadAttachment(f"one {LABEL[k]} per submission")
    if kinds.count("ui") > MAX_UI:
        raise BadAttachment(f"at most {MAX_UI} UI dumps per submission")


def store_all(storage, items: list[tuple[str, str, bytes]]) -> list[dict]:
    """Store validated (kind, name, bytes) beside the package; their records for the submission."""
    out = []
    for kind, name, data in items:
        sha, size = storage.put_bytes(data, ATTACH_MAX)
        out.append({"kind": kind, "name": name, "sha256": sha, "size": size, "path": str(storage.path(sha))})
    return out


def check_attachments(report: dict[str, Any], scan, attachments: list[dict]) -> dict[str, Any]:
    """The scan's report with the attachments' findings added (``findings``/``finding_counts``
    recomputed) and one ``warnings`` entry per file that could not be checked. ``scan``: the package's
    ScanResult (None: checks that compare with the package are skipped, with a warning)."""
    from qingdan.checks.findings import count_by_severity
    from qingdan.lists.check import check_lists
    from qingdan.lists.declarations import ListsError, parse_lists
    from qingdan.policy import PolicyError, extract_facts, read_policy_bytes
    from qingdan.policy.check import check_policy
    from qingdan.ui import UiError, check_screen, read_dump

    rep = copy.deepcopy(report)
    warnings: list[str] = rep.setdefault("warnings", [])
    extra = []

    def warn(a: dict, reason: str) -> None:
        first = str(reason).strip().splitlines()[0] if str(reason).strip() else "cannot be read"
        warnings.append(f"attachment {a['kind']} {a['name']}: {first[:300]}")

    def raw_of(a: dict) -> bytes | None:
        try:
            return Path(a["path"]).read_bytes()
        except OSError as exc:
            warn(a, f"the stored file cannot be read ({exc.strerror or exc})")
            return None

    dl = None
    for a in (x for x in attachments if x["kind"] == "lists"):
        raw = raw_of(a)
        if raw is None:
            continue
        try:
            dl = parse_lists(raw, a["name"])
        except ListsError as exc:
            n = len(exc.problems)
            warn(a, f"not checked: {exc.problems[0].message} (line {exc.problems[0].line})"
                 + (f" and {n - 1} more problem(s)" if n > 1 else ""))
            continue
        except Exception as exc:  # noqa: BLE001 - a note in the report, never a failed submission
            warn(a, f"not checked: internal error ({type(exc).__name__})")
            continue
        extra += check_lists(dl, scan)
    for a in (x for x in attachments if x["kind"] == "policy"):
        raw = raw_of(a)
        if raw is None:
            continue
        try:
            doc = read_policy_bytes(raw, a["name"])
            extra += check_policy(extract_facts(doc), scan, dl, None, doc.text)
        except PolicyError as exc:
            warn(a, f"not checked: {exc}")
        except Exception as exc:  # noqa: BLE001
            warn(a, f"not checked: internal error ({type(exc).__name__})")
    for a in (x for x in attachments if x["kind"] == "ui"):
        try:
            s = read_dump(a["path"])
            s.source = a["name"]
            _, fs = check_screen(s)
        except UiError as exc:
            warn(a, f"not checked: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001
            warn(a, f"not checked: internal error ({type(exc).__name__})")
            continue
        for f in fs:
            f.evidence.setdefault("file", a["name"])
        extra += fs
        warnings.extend(f"attachment ui {a['name']}: {w}" for w in s.warnings)
    if scan is None and attachments:
        warnings.append("attachments checked without the package's scan: "
                        "comparisons with the package skipped")
    rep["findings"] = list(rep.get("findings", [])) + [f.to_dict(scan) for f in extra]
    rep["finding_counts"] = count_by_severity(rep["findings"])
    return rep
