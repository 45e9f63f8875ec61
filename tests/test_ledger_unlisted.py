"""Records the double list does not declare are the operator's to see (issue 16, point 9): the summary
endpoint, `qingdan ledger unlisted` and the metrics show them; the data subject's page and export do not."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
from tests.conftest import cli  # noqa: E402
from tests.support.ledger import KEY1  # noqa: E402
from tests.test_ledger import Svc, ev, pg_url, shared_ev  # noqa: E402, F401 - pg_url: a fixture

EVENTS = [
    ev(0),  # declared
    ev(1, pi="imei"), ev(2, pi="imei", user="u2"),  # undeclared PI type, two users
    ev(3, purpose="精准广告"),  # undeclared purpose
    shared_ev(4, source="某广告平台", pi="oaid"),  # undeclared third party
]


@pytest.fixture(params=["sqlite", "postgresql"])
def svc(request, tmp_path):
    s = Svc(f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite"
            else request.getfixturevalue("pg_url"))
    s.post(EVENTS)
    yield s
    s.close()


def test_the_operator_summary_lists_unlisted_records(svc):
    r = svc.client.get("/v1/summary", headers=svc.h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["events"] == 5
    unl = body["unlisted"]
    assert (unl["events"], unl["users"]) == (4, 2)
    rows = {(x["kind"], x["pi_type"], x["source"], tuple(x["flags"])): (x["events"], x["users"])
            for x in unl["rows"]}
    assert rows == {("collected", "imei", "app", ("undeclared_pi",)): (2, 2),
                    ("collected", "phone_number", "app", ("undeclared_purpose",)): (1, 1),
                    ("shared", "oaid", "某广告平台", ("undeclared_third_party",)): (1, 1)}
    assert "value" not in json.dumps(unl) and "u1" not in json.dumps(unl)  # no values, no users
    assert svc.client.get("/v1/summary").status_code == 401


def test_metrics_count_unlisted_events_by_flag(svc):
    r = svc.client.get("/v1/metrics", headers=svc.h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    app = svc.app_id
    assert f'qingdan_ledger_events{{app="{app}"}} 5' in r.text
    assert f'qingdan_ledger_unlisted_events{{app="{app}",kind="collected",flag="undeclared_pi"}} 2' in r.text
    assert (f'qingdan_ledger_unlisted_events{{app="{app}",kind="shared",flag="undeclared_third_party"}} 1'
            in r.text)
    assert f'qingdan_ledger_unlisted_users{{app="{app}"}} 2' in r.text


def test_the_user_sees_no_list_gaps(svc):
    html = svc.client.get(svc.link("u1")).text
    assert "未列入" not in html and "核查" not in html
    export = svc.client.get(svc.link("u1") + "/export.json").json()
    assert len(export["events"]) == 4 and all("flags" not in e for e in export["events"])


def test_the_ledger_cli_lists_unlisted_records(svc, tmp_path):
    env = {"QINGDAN_DATABASE_URL": svc.url, "QINGDAN_LEDGER_KEYS": KEY1}
    rc, out, err = cli("ledger", "unlisted", svc.app_id, "--json", str(tmp_path / "u.json"), env=env)
    assert rc == 0, err
    assert "[undeclared_pi] collected imei by app: 用于注册、登录账号 — 2 events, 2 users" in out
    assert out.rstrip().endswith("4 unlisted events of 2 users in 3 records; declare them in the lists "
                                 "(or stop them in the app)")
    doc = json.loads((tmp_path / "u.json").read_text("utf-8"))
    assert doc["schema"] == "qingdan.ledger-unlisted/1" and doc["events"] == 4
    rc, _, err = cli("ledger", "unlisted", "app_nope", env=env)
    assert rc == 2 and err.strip() == "error: app_nope: no such app"
