"""The real-image ceiling of a GAN strategy: the bank is exactly the real images the profile left out (tiny sizes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from ganaug.flow.context import Flow

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gan_length  # noqa: E402
import real_bank  # noqa: E402

TINY = ["experiment=quick", "classifier.epochs=1", "trainer.enable_progress_bar=false",
        "imbalance.target.fill_fraction=0.5"]  # fmt: skip


def _keys(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in images}


def test_the_bank_is_the_left_out_real_images(tmp_path: Path) -> None:
    overrides = [*TINY, f"cache_dir={tmp_path / 'cache'}"]
    cfg = gan_length.compose_config(overrides, None, None)
    flow = Flow(cfg)
    prepared = flow.prepared
    bank = real_bank.left_out_bank(flow, overrides, None, tmp_path / "bank")
    splits = prepared.splits
    whole = Flow(gan_length.compose_config([*overrides, "imbalance=none"], None, None)).prepared.splits.train
    images, labels = np.asarray(bank.images), np.asarray(bank.labels)
    for c in range(whole.num_classes):
        in_class = whole.images.numpy()[whole.labels.numpy() == c]
        left = _keys(in_class) - _keys(splits.train.images.numpy()[splits.train.labels.numpy() == c])
        assert _keys(images[labels == c]) == (left if c in prepared.targets else set())
        assert len(left) >= prepared.targets.get(c, 0)
    held = _keys(splits.train.images.numpy()) | _keys(splits.val.images.numpy()) | _keys(splits.test.images.numpy())
    assert not _keys(images) & held  # real images no split holds


def test_scores_the_strategy_with_real_images_beside_its_reference(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    args = ["--strategy", "gan+la+classical", "--seeds", "0,1", "--out", str(out), *TINY,
            f"cache_dir={tmp_path / 'cache'}"]  # fmt: skip
    assert real_bank.main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["real_bank.json"]  # the bank was a temporary folder
    result = json.loads((out / "real_bank.json").read_text())
    assert result["reference"] == "la+classical" and result["seeds"] == [0, 1]
    with_real, reference = result["gan+la+classical"], result["la+classical"]
    for metric in real_bank.METRICS:
        gains = [a[metric] - b[metric] for a, b in zip(with_real["rows"], reference["rows"], strict=True)]
        assert result["gain"][metric]["mean"] == pytest.approx(sum(gains) / 2)
        assert with_real[metric]["mean"] == pytest.approx(sum(r[metric] for r in with_real["rows"]) / 2)
    assert result["bank_size"] >= sum(result["synthetic_counts"].values())
    assert "real images as its bank" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--strategy", "la+classical"], "not a GAN strategy"),
        (["--seeds", "a"], "--seeds a"),
        (["imbalance.target.fill_fraction=1.0"], "lower imbalance.target.fill_fraction"),
        (["data.val_fraction=2"], "data.val_fraction"),
        (["gan.nope=1"], "gan.nope"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str):
    base = ["--out", str(tmp_path / "out"), "experiment=quick", f"cache_dir={tmp_path / 'cache'}"]
    assert real_bank.main([*args, *base]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganaug: error:") and needle in err[0]
    assert not (tmp_path / "out").exists()
