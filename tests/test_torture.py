"""`envoi torture`: the smoke mode end to end (real servers killed, stopped and
PostgreSQL crash-restarted under load), and the checker catching what it must."""

import json
import uuid

import psycopg
from server_process import run_envoi

from envoi.core.ops import torture

TORTURE_TIMEOUT_S = 180


def test_torture_smoke_injects_faults_and_finds_no_violation(tmp_path):
    out = tmp_path / "torture"
    done = run_envoi("torture", "--smoke", "--out", str(out), timeout_s=TORTURE_TIMEOUT_S)
    summary = json.loads((out / "summary.json").read_text())
    assert done.returncode == 0, (done.stdout, done.stderr[-3000:])
    assert summary["violations"] == 0, summary["violation_details"]
    assert summary["acknowledged_transfers"] > 0 and summary["acknowledged_refunds"] > 0
    assert summary["faults_injected"] >= 1
    assert summary["snapshot_reads"] > 0 and summary["balance_reads"] > 0
    for key in ("acknowledged_transfers", "faults_injected", "violations", "max_recovery_s"):
        assert key in summary
    assert "| violations | 0 |" in done.stdout


def test_the_checker_finds_a_lost_acknowledgement_and_a_changed_total(database_url, open_account):
    open_account(balance_cents=1_000)
    with psycopg.connect(database_url) as conn:
        total_cents = conn.execute(torture.SUM_OF_PEOPLE).fetchone()[0]
    run = torture.Run()
    torture.check(database_url, total_cents, run)
    assert run.violations == []  # a sound ledger passes
    run.acknowledged.add(str(uuid.uuid4()))  # acknowledged, but not in the ledger
    run.refunds[str(uuid.uuid4())] = str(uuid.uuid4())  # a refund acknowledged, not there
    torture.check(database_url, total_cents + 1, run)
    assert len(run.violations) == 3, run.violations
    assert "sum to" in run.violations[0] and "acknowledged transfer" in run.violations[1]
    assert "acknowledged refund" in run.violations[2]
