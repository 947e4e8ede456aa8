"""`ganaug` as a console script: subcommands for the stages and tools, --version, and what the package ships."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import REPO, exit_code

import ganaug
from ganaug.cli.commands import COMMANDS, main


def test_version_is_written_once_and_printed(capsys: pytest.CaptureFixture) -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ganaug {ganaug.__version__}"


def test_every_command_names_a_module_with_a_main_and_is_listed(capsys: pytest.CaptureFixture) -> None:
    import importlib

    for name, (module, _, _) in COMMANDS.items():
        assert callable(importlib.import_module(module).main), name
    assert main(["commands"]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {name} " in listed for name in COMMANDS)


def test_a_tool_subcommand_passes_its_arguments_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert exit_code(main, ["summarize", str(tmp_path / "nowhere")]) == 2
    assert "ganaug: error:" in capsys.readouterr().err


def test_a_stage_subcommand_runs_the_hydra_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANAUG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    main(["prepare", "experiment=quick", f"hydra.run.dir={tmp_path / 'run'}"])
    assert list((tmp_path / "cache").glob("data-*.json"))


def test_the_package_ships_its_typing_marker_licence_and_changelog() -> None:
    assert (Path(ganaug.__file__).parent / "py.typed").is_file()
    assert (REPO / "LICENSE").read_text().startswith("MIT License") and (REPO / "CHANGELOG.md").is_file()
