"""`envoi bench` end to end in its smoke mode: it starts its own PostgreSQL and
`envoi serve`, and writes results.json with every key, each a number or a null
with a note saying why. No speed is asserted."""

import json

from server_process import run_envoi

from envoi.core.ops.bench import RESULT_KEYS
from envoi.core.ops.bench_large import SCALE_ENV

BENCH_TIMEOUT_S = 120
WEBHOOK_DETAILS = {
    "posts",
    "posts_not_accepted",
    "pending",
    "p50_ms",
    "p99_ms",
    "posts_per_s",
    "send_late_p50_ms",
    "send_late_p99_ms",
    "send_late_max_ms",
    "sent_per_s",
    "slot_to_pending_p50_ms",
    "slot_to_pending_p99_ms",
    "sender",
    "max_in_flight",
}


def run_bench(out, *args, **variables):
    done = run_envoi(
        "bench", "--smoke", *args, "--out", str(out), timeout_s=BENCH_TIMEOUT_S, **variables
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    for key in RESULT_KEYS:
        assert key in results
        value = results[key]
        if value is None:
            assert results["notes"][key], f"{key} is null without a note"
        else:
            assert isinstance(value, (int, float)) and value > 0, (key, value)
    return done, results


def test_bench_smoke_writes_every_result(tmp_path):
    out = tmp_path / "bench"
    done, results = run_bench(out)
    for measured in (
        "pgbench_tps",
        "sql_transfer_tps",
        "sql_lean_transfer_tps",
        "p2p_confirmed_tps",
        "bulk_tps",
        "sql_bulk_tps",
        "hot_account_tps",
        "collection_tps",
    ):
        assert results[measured] is not None, measured
    assert results["ratios"]["bulk_over_sql_bulk"] is not None
    for lean_ratio in ("sql_lean_over_pgbench", "sql_transfer_over_sql_lean"):
        assert results["ratios"][lean_ratio] > 0, lean_ratio
    assert results["ratios"]["sql_transfer_over_pgbench"] > 0
    assert results["per_transfer_in_lean_sql"]["db_commits"] > 0
    # Both webhook phases, with how late the senders were against their schedule.
    for phase in ("tweet_to_pending", "tweet_to_pending_1000"):
        assert WEBHOOK_DETAILS <= set(results[phase]), phase
        assert results[phase]["posts"] > 0
    assert results["tweet_to_pending_1000"]["posts_per_s"] == 100.0  # smoke: 100 posts/s
    assert results["tweet_to_pending_1000_p99_ms"] == results["tweet_to_pending_1000"]["p99_ms"]
    # --large was not asked for.
    assert results["large_p2p_confirmed_tps"] is None
    assert results["notes"]["large_p2p_confirmed_tps"] == "run with --large"
    assert results["large"] is None and results["ratios"]["large_p2p_over_p2p"] is None
    assert results["settings"]["errors"] == {"p2p": 0, "hot": 0, "collection": 0}
    assert results["mode"] == "smoke"
    table = (out / "results.md").read_text()
    assert "| p2p_confirmed_tps |" in table
    assert "| bulk_over_sql_bulk |" in table
    assert "| sql_lean_transfer_tps |" in table
    assert "| tweet_to_pending_1000_p99_ms |" in table
    assert "| large_p2p_confirmed_tps | null: run with --large |" in table
    assert "| p2p_confirmed_tps |" in done.stdout
    # The concurrency sweep and the plots (matplotlib is in the bench extra,
    # which `python3 tasks.py` installs).
    sweep = results["concurrency_sweep"]
    assert [point["concurrency"] for point in sweep] == [1, 2]  # smoke: 1 process x (1, 2)
    assert all(point["transfers"] > 0 and point["errors"] == 0 for point in sweep)
    assert results["sql_hot_transfer_tps"] > 0
    for plot in ("throughput_vs_concurrency.png", "latency_distribution.png"):
        assert plot in results["plots"]
        assert (out / plot).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    cpu = results["cpu_ms_per_confirmed_transfer"]
    assert set(cpu) == {"envoi_server", "postgres", "bench_clients"}
    assert cpu["envoi_server"] > 0 and cpu["postgres"] > 0


def test_bench_large_loads_a_ledger_and_measures_on_it(tmp_path):
    """--large at a thousandth of its size: 1,000 accounts, 10,000 past transfers."""
    out = tmp_path / "bench"
    done, results = run_bench(out, "--large", **{SCALE_ENV: "0.001"})
    large = results["large"]
    assert (large["accounts"], large["past_transfers"]) == (1_000, 10_000)
    assert results["large_p2p_confirmed_tps"] == large["p2p_confirmed_tps"] > 0
    assert large["errors"] == 0 and large["p50_ms"] > 0 and large["p99_ms"] > 0
    assert large["load_s"] >= 0 and large["db_size_mb"] > 0 and large["invariants_s"] >= 0
    assert set(large["load_steps_s"]) >= {"accounts", "past_transfers", "indexes"}
    assert results["ratios"]["large_p2p_over_p2p"] > 0
    assert "large_p2p_confirmed_tps" not in results["notes"]
    assert "10,000 of 10,000 past transfers (" in done.stderr
    assert "envoi bench --large: loaded 1,000 accounts and 10,000 past transfers in" in done.stderr
    assert "| large_p2p_over_p2p |" in (out / "results.md").read_text()


def test_bench_refuses_large_with_quick(tmp_path):
    done = run_envoi("bench", "--quick", "--large", "--out", str(tmp_path / "bench"), timeout_s=30)
    assert done.returncode != 0
    assert "--large runs with the full mode" in done.stderr
    assert not (tmp_path / "bench").exists()
