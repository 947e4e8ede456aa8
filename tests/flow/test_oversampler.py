"""GANOverSampler behaves as an imbalanced-learn over-sampler does, on images, and inside its Pipeline."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imblearn")

from imblearn.over_sampling.base import BaseOverSampler  # noqa: E402
from imblearn.pipeline import make_pipeline  # noqa: E402
from imblearn.utils.estimator_checks import check_samplers_one_label, check_target_type  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, label_binarize  # noqa: E402

from ganaug import GANOverSampler  # noqa: E402
from tests.helpers.data import make_toy_dataset  # noqa: E402

TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 4}, "discriminator_kwargs": {"base_channels": 4}}


def _images(counts: list[int], channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 8, 8) for one channel, (N, 8, 8, C) otherwise, and their int labels."""
    data = make_toy_dataset(counts, shape=(channels, 8, 8))
    images = data.images.numpy()
    images = images[:, 0] if channels == 1 else images.transpose(0, 2, 3, 1)
    return images, data.labels.numpy()


def _sampler(**kwargs) -> GANOverSampler:
    return GANOverSampler(steps=4, batch_size=16, module_kwargs=TINY, random_state=0, **kwargs)


def test_auto_fills_every_class_to_the_majority_with_generated_images_after_the_originals() -> None:
    X, y = _images([30, 12, 5])
    sampler = _sampler()
    X_res, y_res = sampler.fit_resample(X, y)
    assert isinstance(sampler, BaseOverSampler) and dict(sampler.sampling_strategy_) == {1: 18, 2: 25}
    assert Counter(y_res.tolist()) == {0: 30, 1: 30, 2: 30}
    assert X_res.dtype == np.uint8 and X_res.shape == (90, 8, 8) and y_res.dtype == y.dtype
    assert np.array_equal(X_res[: len(X)], X) and np.array_equal(y_res[: len(y)], y)
    assert y_res[len(y):].tolist() == [1] * 18 + [2] * 25  # fmt: skip


def test_a_dict_of_totals_keeps_the_other_classes_and_string_labels_and_channels_last_survive() -> None:
    X, y = _images([20, 10, 6], channels=3)
    labels = np.array(["cat", "dog", "eel"])[y]
    X_res, y_res = _sampler(sampling_strategy={"eel": 15}).fit_resample(X, labels)
    assert Counter(y_res.tolist()) == {"cat": 20, "dog": 10, "eel": 15}
    assert X_res.shape == (45, 8, 8, 3) and y_res.dtype == labels.dtype


def test_an_int_random_state_gives_the_same_images_and_a_cache_dir_reuses_the_gan(tmp_path: Path) -> None:
    X, y = _images([24, 6])
    first = _sampler(cache_dir=tmp_path).fit_resample(X, y)
    gans = sorted(p.name for p in tmp_path.glob("gan-*") if p.is_dir())
    second = _sampler(cache_dir=tmp_path).fit_resample(X, y)
    assert np.array_equal(first[0], second[0]) and len(gans) == 1
    assert sorted(p.name for p in tmp_path.glob("gan-*") if p.is_dir()) == gans
    other = _sampler(cache_dir=tmp_path)
    other.set_params(random_state=1)
    assert not np.array_equal(other.fit_resample(X, y)[0], first[0])


def test_nothing_to_add_trains_nothing() -> None:
    X, y = _images([10, 10])
    X_res, y_res = _sampler().fit_resample(X, y)
    assert X_res is not None and np.array_equal(X_res, X) and np.array_equal(y_res, y)


def test_it_works_inside_an_imblearn_pipeline_and_only_when_fitting() -> None:
    X, y = _images([30, 8])
    pipe = make_pipeline(_sampler(), FunctionTransformer(lambda a: a.reshape(len(a), -1) / 255.0),
                         LogisticRegression(max_iter=200))  # fmt: skip
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9  # the classes are bands of bright rows
    assert Counter(pipe.named_steps["ganoversampler"].sampling_strategy_) == {1: 22}
    assert clone(pipe).get_params()["ganoversampler__steps"] == 4


def test_imblearns_own_sampler_checks_that_apply_to_images() -> None:
    check_target_type("GANOverSampler", _sampler())
    check_samplers_one_label("GANOverSampler", _sampler())


def test_the_image_forms_of_imblearns_other_sampler_checks() -> None:
    """imblearn's other checks feed (N, 2) float tables; these are the same properties on images."""
    X, y = _images([30, 12, 5])
    X_res, y_res = _sampler().fit_resample(X, y)
    X_list, y_list = _sampler().fit_resample(X.tolist(), y.tolist())  # check_samplers_list
    assert isinstance(X_list, list) and np.array_equal(np.asarray(X_list), X_res) and list(y_list) == y_res.tolist()
    y_ova = label_binarize(y, classes=[0, 1, 2])  # check_samplers_multiclass_ova
    X_ova, y_res_ova = _sampler().fit_resample(X, y_ova)
    assert np.array_equal(X_ova, X_res) and np.array_equal(y_res_ova.argmax(axis=1), y_res)
    assert np.array_equal(_sampler().fit_resample(X, y.reshape(-1, 1))[0], X_res)  # check_samplers_2d_target
    sampler = _sampler()  # check_samplers_preserve_dtype, check_samplers_sample_indices
    X_int, y_int = sampler.fit_resample(X.astype(np.int16), y.astype(np.int32))
    assert X_int.dtype == np.int16 and y_int.dtype == np.int32 and not hasattr(sampler, "sample_indices_")


@pytest.mark.parametrize(
    ("X", "kwargs", "match"),
    [
        (np.zeros((6, 8, 8), dtype=np.float32), {}, r"uint8 images \(integers 0..255\), got dtype float32; scale"),
        (np.full((6, 8, 8), 300), {}, r"takes uint8 images \(integers 0..255\), got dtype int"),
        (np.zeros((6, 64), dtype=np.uint8), {}, r"takes images \(N, H, W\) or \(N, H, W, C\)"),
        (np.zeros((6, 8, 8), dtype=np.uint8), {"steps": 0}, "'steps' parameter of GANOverSampler must be"),
        (np.zeros((6, 8, 8), dtype=np.uint8), {"condition_on": "some"}, "'condition_on' parameter"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(X: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        GANOverSampler(**kwargs).fit_resample(X, np.array([0, 0, 0, 0, 1, 1]))
    assert "\n" not in str(info.value)
