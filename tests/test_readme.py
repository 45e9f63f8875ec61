"""The README's commands, run verbatim from where a reader stands.

Every shell block of the README (```sh, ```console, or a bare ``` block of commands) carries a marker
on the line above it: ``<!-- readme: run -->`` or ``<!-- readme: not run — why -->``. Blocks marked
``run`` are run here in README order, in one fresh folder that holds nothing but ``examples/`` (as a
reader's checkout does), so a file one block writes (``privacy-lists.yaml``) is there for the next.
A block of ``$ `` lines is a transcript: each command must print exactly the lines shown under it.
Otherwise every line is a command whose exit status must be 0, or N where its comment says
``exit N``. The ```toml block must be a valid ``qingdan.toml``, and the ```json request body of
``POST /v1/events`` must be accepted by the ledger with the token the README's own commands made.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- readme: (run|not run — (?P<why>[^>]+?)) -->")
EXIT = re.compile(r"#.*\bexit (\d)\b")


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    body: list[str]
    marker: str | None  # "run", "not run", or None
    why: str = ""


def blocks() -> list[Block]:
    lines = README.read_text("utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        prev = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        mk = MARKER.search(prev)
        marker = None if not mk else ("run" if mk.group(1) == "run" else "not run")
        out.append(Block(i + 1, m.group(1), lines[i + 1:j], marker, (mk.group("why") or "") if mk else ""))
        i = j + 1
    return out


def is_shell(b: Block) -> bool:
    if b.lang in ("sh", "console"):
        return True
    return b.lang == "" and any(x.startswith(("$ ", "qingdan ")) for x in b.body)


def test_every_shell_block_says_whether_it_is_run():
    unmarked = [b.line for b in blocks() if is_shell(b) and b.marker is None]
    assert not unmarked, f"README shell blocks without a readme marker at lines {unmarked}"
    for b in blocks():
        if b.marker == "not run":
            assert len(b.why.strip()) > 10, f"README line {b.line}: say why the block is not run"
    assert sum(b.marker == "run" for b in blocks()) >= 6


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """A fresh folder holding only the examples, and an environment like a reader's shell."""
    where = tmp_path_factory.mktemp("reader")
    (where / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("QINGDAN_") and k not in ("LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    env.update(LANG="C.UTF-8", QINGDAN_CACHE_DIR=str(where / ".cache"), COLUMNS="200",
               PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""))
    return where, env


def run_shell(script: str, where: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=where, env=env, capture_output=True, text=True,
                          timeout=300)


def transcript(b: Block) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for x in b.body:
        if x.startswith("$ "):
            steps.append((x[2:], []))
        else:
            assert steps, f"README line {b.line}: output before the first $ command"
            steps[-1][1].append(x.rstrip())
    return steps


def run_block(b: Block, where: Path, env: dict) -> list[str]:
    """Run one block; return what went wrong (empty when it all matched)."""
    errors: list[str] = []
    if any(x.startswith("$ ") for x in b.body):
        for cmd, want in transcript(b):
            p = run_shell("exec 2>&1\n" + cmd, where, env)
            got = [x.rstrip() for x in p.stdout.splitlines()]
            if p.returncode != 0:
                errors.append(f"line {b.line}: `{cmd}` exited {p.returncode}: {p.stdout[-800:]}")
            elif got != want:
                diff = [f"  want {w!r}\n  got  {g!r}" for w, g in zip(want, got, strict=False) if w != g][:3]
                errors.append(f"line {b.line}: `{cmd}` printed {len(got)} lines, the README shows "
                              f"{len(want)}:\n" + "\n".join(diff))
        return errors
    # one shell for the block (exports carry over); the status of each command line is recorded
    cmds = [x for x in b.body if x.strip() and not x.lstrip().startswith("#")]
    joined, i = [], 0
    while i < len(cmds):  # backslash continuations form one command
        c = cmds[i]
        while c.rstrip().endswith("\\") and i + 1 < len(cmds):
            i += 1
            c = c.rstrip()[:-1] + " " + cmds[i].strip()
        joined.append(c)
        i += 1
    rc_file = where / ".rc"
    rc_file.unlink(missing_ok=True)
    script = "\n".join(f"{c}\necho $? >> {rc_file}" for c in joined)
    p = run_shell(script, where, env)
    rcs = [int(x) for x in rc_file.read_text().split()] if rc_file.exists() else []
    if len(rcs) != len(joined):
        return [f"line {b.line}: the block stopped after {len(rcs)} of {len(joined)} commands: "
                f"{p.stderr[-800:]}"]
    for c, rc in zip(joined, rcs, strict=True):
        m = EXIT.search(c)
        want = int(m.group(1)) if m else 0
        if rc != want:
            errors.append(f"line {b.line}: `{c.split('#')[0].strip()}` exited {rc}, the README says {want}"
                          f"\n{p.stderr[-600:]}")
    if "Traceback" in p.stderr:
        errors.append(f"line {b.line}: a traceback: {p.stderr[-800:]}")
    return errors


def test_readme_commands_run_verbatim(reader):
    where, env = reader
    runnable = [b for b in blocks() if b.marker == "run"]
    errors = [e for b in runnable for e in run_block(b, where, env)]
    assert not errors, "\n".join(errors)
    # what the blocks promise to write is there, whole
    rep = json.loads((where / "report.json").read_text("utf-8"))
    assert rep["app"]["package"] == "com.example.qingdan.demo"
    assert (where / "privacy-lists.yaml").is_file() and (where / "site").is_dir()
    assert (where / "qingdan-ledger.db").is_file()


def test_readme_config_is_a_valid_qingdan_toml(tmp_path):
    from qingdan.checks.pipeline import load_config

    toml = [b for b in blocks() if b.lang == "toml"]
    assert len(toml) == 1
    p = tmp_path / "qingdan.toml"
    p.write_text("\n".join(toml[0].body) + "\n", "utf-8")
    cfg = load_config(p)
    assert cfg.fail_on == "warn"
    assert [a.rule for a in cfg.accept] == ["sdk.autostart-receiver"]


def test_readme_event_body_is_accepted_by_the_ledger(tmp_path):
    """The README's request body, posted as it stands, to a ledger whose lists declare both events
    (the 鲜到家 lists of the ledger tests): accepted, nothing flagged."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from qingdan.ledger.settings import Settings
    from qingdan.service.app import create_app
    from tests.support.ledger import KEY1, SECRET, lists

    bodies = [b for b in blocks() if b.lang == "json"]
    assert len(bodies) == 1, "one JSON request body in the README"
    body = json.loads("\n".join(bodies[0].body))
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'l.db'}", ledger_keys=KEY1, secret=SECRET))
    with TestClient(app) as client:
        ledger = app.state.ledger
        app_id = ledger.create_app("鲜到家", lists(), None, {})
        _, token = ledger.create_key(app_id)
        r = client.post("/v1/events", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0, "flagged": []}
