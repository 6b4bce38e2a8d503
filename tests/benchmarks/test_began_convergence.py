"""benchmarks/began_convergence.py: windowed means of BEGAN's logged convergence measure, its steadiness and the
PNG curve, on a synthetic metrics log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import began_convergence
from benchmarks.began_convergence import convergence_rows, steadiness, write_convergence


def _metrics(steps: range, m_of_step) -> list[dict]:
    return [
        {
            "step": s,
            "convergence": m_of_step(s),
            "k": s / 1000,
            "l_real": 0.1,
            "l_fake": 0.05,
            "loss_g": 0.5,
            "loss_d": 0.0,
        }
        for s in steps
    ]


def test_rows_are_window_means() -> None:
    metrics = _metrics(range(10, 101, 10), lambda s: float(s))  # logged every 10 steps
    metrics.insert(0, {"step": 5, "loss_d": 1.0})  # a line without the BEGAN fields is skipped
    rows = convergence_rows(metrics, window=50)
    assert [r["steps"] for r in rows] == [50, 100]
    assert rows[0]["convergence_M"] == pytest.approx((10 + 20 + 30 + 40 + 50) / 5)
    assert rows[1]["convergence_M"] == pytest.approx((60 + 70 + 80 + 90 + 100) / 5)
    assert rows[1]["k"] == pytest.approx(0.08) and rows[0]["L_fake"] == pytest.approx(
        0.05
    )  # the D step's L(G(z)), not G's loss


def test_partial_last_window_ends_at_the_last_step() -> None:
    rows = convergence_rows(_metrics(range(10, 71, 10), lambda s: 1.0), window=50)
    assert [r["steps"] for r in rows] == [50, 70]


def test_steadiness() -> None:
    falling = [{"convergence_M": v} for v in (0.3, 0.2, 0.25, 0.1, 0.05)]
    summary = steadiness(falling)
    assert summary["falling_share"] == pytest.approx(3 / 4)
    assert summary["first_M"] == 0.3 and summary["last_M"] == 0.05
    assert steadiness([{"convergence_M": 1.0}])["falling_share"] == 0.0


def test_write_convergence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    run.mkdir()
    lines = _metrics(range(100, 2001, 100), lambda s: 1 / s)
    (run / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in lines))
    monkeypatch.setattr(began_convergence, "RESULTS", tmp_path / "results")
    (tmp_path / "results").mkdir()
    result = write_convergence(run, "curve", window=500, title="test run")
    assert result["falling_share"] == 1.0 and len(result["rows"]) == 4
    assert (tmp_path / "results" / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = (tmp_path / "results" / "curve.csv").read_text().splitlines()
    assert csv[0].split(",")[:2] == ["steps", "convergence_M"] and len(csv) == 5


def test_not_a_began_run(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss_d": 0.5}) + "\n")
    with pytest.raises(SystemExit, match="no BEGAN convergence"):
        write_convergence(tmp_path, "x", window=10, title="t")
