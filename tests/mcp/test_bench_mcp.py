"""bench/bench_mcp.py runs (tiny sizes): interleaved blocks, per-block ratios with their spread, the full
verification of unseen tokens reported apart from the cache hit."""

from __future__ import annotations

import pytest

from bench import bench_mcp


def test_bench_reports_median_and_spread_of_per_block_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    result = bench_mcp.main(verify_blocks=4, call_blocks=4, per_call_block=2)
    for name in ("full", "hit", "overhead"):
        median, low, high = result[name]
        assert low <= median <= high
    assert result["hit"][0] < result["full"][0]  # a cache hit is not the honest number
    out = capsys.readouterr().out
    assert "token not seen before" in out and "median of per-block" in out


def test_verification_measures_all_three_in_every_block() -> None:
    from did_agents.keys import generate

    rows = bench_mcp.verification(generate(), blocks=3, per_block=5)
    assert [len(v) for v in rows.values()] == [3, 3, 3]
