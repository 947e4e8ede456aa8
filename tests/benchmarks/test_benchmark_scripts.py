"""The throughput benchmark runs and prints its tables (tiny sizes: this checks the script, not the speed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import throughput  # noqa: E402


def test_every_section_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = throughput.main(
        [
            "--batches",
            "8",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--generate",
            "40",
            "--mix-real",
            "64",
            "--mix-synthetic",
            "64",
            "--repeats",
            "1",
            "--bank-size",
            "200",
            "--bank-width",
            "4",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    for title in ("GAN training", "Generation into a bank", "Classifier epoch", "A bank of 200"):
        assert f"### {title}" in out
    assert "| 1x32x32 | 8 |" in out and "| 3x32x32 | 8 |" in out
    assert "| MixedDataset | 128 |" in out and "| GANAugDataModule | 128 |" in out
    assert "peak host memory while generating" in out


def test_unknown_section_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        throughput.main(["--sections", "gan,speed"])
    assert exc.value.code == 2 and "speed" in capsys.readouterr().err
