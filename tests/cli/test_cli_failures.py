"""The last-resort handler in-process: each kind of failure becomes one line and its exit code."""

from __future__ import annotations

import errno
import signal

import numpy as np
import pytest
from helpers.data import make_toy_dataset

from ganaug.cli.runner import Terminated, one_line_errors
from ganaug.data.dataset import DatasetSplits
from ganaug.errors import GanaugError


def _exit(raised: BaseException, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info, one_line_errors():
        raise raised
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ganaug: error: "), err
    return info.value.code, err


@pytest.mark.parametrize(
    ("raised", "code", "needle"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/cache/bank"), 2, "free disk space"),
        (PermissionError(errno.EACCES, "Permission denied", "/ro"), 2, "choose a folder you can write to"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/file/x"), 2, "a folder on that path is a file"),
        (GanaugError("x=1: must be > 1"), 2, "x=1: must be > 1"),
        (Terminated(signal.SIGTERM), 143, "terminated by SIGTERM; rerun"),
        (Terminated(signal.SIGINT), 130, "terminated by SIGINT; rerun"),
    ],
)
def test_each_failure_is_one_line_and_its_exit_code(raised, code, needle, capsys) -> None:
    got, err = _exit(raised, capsys)
    assert got == code and needle in err


def test_lightning_refusing_a_setting_is_one_line(capsys) -> None:
    from pytorch_lightning.utilities.exceptions import MisconfigurationException

    got, err = _exit(MisconfigurationException("No supported gpu backend found!\nmore text"), capsys)
    assert got == 2 and "Lightning: No supported gpu backend found!" in err


def test_a_bug_keeps_its_traceback_and_says_so(capsys) -> None:
    with pytest.raises(SystemExit) as info, one_line_errors():
        raise KeyError("oops")
    err = capsys.readouterr().err
    assert info.value.code == 1 and "Traceback" in err and "internal error (KeyError): a bug in ganaug" in err


def test_a_split_holding_an_object_array_is_refused_without_unpickling(tmp_path) -> None:
    splits = DatasetSplits(make_toy_dataset([4, 4]), make_toy_dataset([2, 2]), make_toy_dataset([2, 2]))
    splits.save(tmp_path / "data")
    np.savez(tmp_path / "data" / "train.npz", images=np.array([object()] * 3, dtype=object), labels=np.zeros(3))
    with pytest.raises(GanaugError, match="train.npz: damaged or not a prepared split .*delete"):
        DatasetSplits.load(tmp_path / "data")
