"""The whole analysis of one package: scan, rules, and the project's accepted findings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from qingdan.apk.zipread import Limits
from qingdan.checks.findings import Finding, at_or_above
from qingdan.checks.rules import run_rules
from qingdan.checks.scan import ScanResult, scan_path
from qingdan.knowledge.rules import SEVERITIES, load_rules

CONFIG_NAME = "qingdan.toml"


class ConfigError(ValueError):
    """qingdan.toml is unreadable or wrong; the message names the file and the problem."""


@dataclass(slots=True)
class Acceptance:
    rule: str
    owner: str  # an owner id, or "*" for any owner
    reason: str


@dataclass(slots=True)
class Config:
    path: str | None = None
    fail_on: str | None = None
    app_type: str | None = None
    lists: str | None = None  # the double-list declarations (privacy-lists.yaml)
    accept: list[Acceptance] = field(default_factory=list)


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    known = {"fail_on", "app_type", "lists", "accept"}
    extra = sorted(set(doc) - known)
    if extra:
        raise ConfigError(f"{p}: unknown key(s) {', '.join(extra)} (known: {', '.join(sorted(known))})")
    fail_on = doc.get("fail_on")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigError(f"{p}: fail_on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
    rules = load_rules()
    accept = []
    for i, a in enumerate(doc.get("accept") or []):
        where = f"{p}: accept[{i}]"
        if not isinstance(a, dict):
            raise ConfigError(f"{where}: must be a table with rule, owner and reason")
        if a.get("rule") not in rules:
            raise ConfigError(f"{where}: unknown rule {a.get('rule')!r} (see `qingdan rules`)")
        reason = a.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where}: a written reason is required")
        owner = a.get("owner", "*")
        if not isinstance(owner, str) or not owner:
            raise ConfigError(f"{where}: owner must be an owner id (app, an SDK id) or \"*\"")
        accept.append(Acceptance(a["rule"], owner, reason.strip()))
    app_type = doc.get("app_type")
    if app_type is not None:
        app_type = str(app_type)
    lists = doc.get("lists")
    if lists is not None:
        lists = str(p.parent / str(lists))
    return Config(str(p), fail_on, app_type, lists, accept)


def find_config(*near: str | Path | None) -> Config | None:
    """``qingdan.toml`` beside the first of ``near`` that has one: in a file's folder, or in a folder
    given itself. Never the current folder: a config meant for one app must not change another's."""
    for p in near:
        if p is None:
            continue
        path = Path(p).resolve()
        cand = (path if path.is_dir() else path.parent) / CONFIG_NAME
        if cand.is_file():
            return load_config(cand)
    return None


def apply_acceptance(findings: list[Finding], accept: list[Acceptance]) -> None:
    for f in findings:
        for a in accept:
            if a.rule == f.rule_id and a.owner in ("*", f.owner):
                f.accepted = True
                f.accepted_reason = a.reason
                break


def failing(findings: list[Finding], level: str) -> list[Finding]:
    """Findings at or above ``level`` that were not accepted."""
    return at_or_above(findings, level)


def analyze(path: str | Path, config: Config | None = None, app_type: str | None = None,
            limits: Limits | None = None, consent: bool = False) -> tuple[ScanResult, list[Finding]]:
    """Scan a package and run every rule; accepted findings stay in, marked accepted. ``consent``:
    also search what runs before the user agrees (the call graph; the pre-consent rules)."""
    cfg = config or Config()
    res = scan_path(path, limits, consent)
    findings = run_rules(res, app_type or cfg.app_type)
    apply_acceptance(findings, cfg.accept)
    res.findings = findings
    return res, findings
