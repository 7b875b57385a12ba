"""`companion routines check`: includes resolved, YAML mistakes in plain words (real CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def user_routines(companion_env) -> Path:
    return Path(companion_env["XDG_DATA_HOME"]) / "quiet-companion" / "routines"


def test_check_file_finds_an_include_cycle_with_place(run_companion, tmp_path, user_routines):
    _write(user_routines, "loop-b", "name: loop-b\ntitle: B\nsteps:\n  - routine: loop-a\n")
    a = _write(tmp_path, "loop-a", "name: loop-a\ntitle: A\nsteps:\n  - say: Hi.\n"
                                   "  - routine: loop-b\n")
    out = run_companion("routines", "check", a)
    assert out.returncode == 2
    assert out.stderr.strip() == (f"{a}:5:14: includes go round in a circle "
                                  "(loop-a -> loop-b -> loop-a): remove one of them")
    assert ": ok" not in out.stdout


def test_check_file_finds_a_missing_include_with_place(run_companion, tmp_path):
    a = _write(tmp_path, "mine", "name: mine\ntitle: Mine\nsteps:\n  - say: Hi.\n"
                                 "  - routine: breathin\n")
    out = run_companion("routines", "check", a)
    assert out.returncode == 2
    line = out.stderr.strip()
    assert line.startswith(f"{a}:5:14: no routine named 'breathin' to include")
    assert "breathing" in line  # the suggestion


def test_check_file_with_a_good_include_is_ok(run_companion, tmp_path):
    a = _write(tmp_path, "mine", "name: mine\ntitle: Mine\nsteps:\n  - routine: breathing\n")
    out = run_companion("routines", "check", a)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{a}: ok"


def test_check_all_reports_a_cycle_in_the_user_folder(run_companion, user_routines):
    a = _write(user_routines, "loop-a", "name: loop-a\ntitle: A\nsteps:\n  - routine: loop-b\n")
    _write(user_routines, "loop-b", "name: loop-b\ntitle: B\nsteps:\n  - routine: loop-a\n")
    out = run_companion("routines", "check")
    assert out.returncode == 2
    assert f"{a}:4:14: includes go round in a circle" in out.stderr


@pytest.mark.parametrize(("text", "where", "words"), [
    ("name: x\ntitle: X\nsteps:\n  - say: Hi.\n   - pause: 2s\n", "5:4",
     "indentation: this line is indented more than the list above it (line 4)"),
    ("name: x\ntitle: X\nsteps:\n  - say: Hi.\n - pause: 2s\n", "5:2",
     "indentation: this line is indented less than the list above it (line 4)"),
    ("name: x\ntitle: \"X\nsteps:\n  - say: Hi.\n", "2:8",
     "a quote opened here is never closed"),
    ("name: x\ntitle: X\nsteps:\n\t- say: Hi.\n", "4:1", "a tab character"),
    ("name: x\ntitle: X\nsteps: [\n  - say: Hi.\n", "4:3", "a [ ] or { } is not closed"),
])
def test_yaml_mistakes_are_said_in_plain_words(run_companion, tmp_path, text, where, words):
    path = _write(tmp_path, "broken", text)
    out = run_companion("routines", "check", path)
    assert out.returncode == 2
    assert out.stderr.startswith(f"{path}:{where}: {words}"), out.stderr
    assert "<block" not in out.stderr and "expected the node" not in out.stderr
