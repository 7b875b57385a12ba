"""The generated docs and schema are up to date; shipped routines name the schema, and
`companion schema --path` points at it; every doc the README promises exists."""

from __future__ import annotations

import json
from pathlib import Path

from companion.routines import rules
from companion.routines.reference import (
    SCHEMA_FILE,
    SCHEMA_LINE,
    routines_markdown,
    schema_text,
)
from companion.routines.schema import routine_schema

REGENERATE = "out of date: run `python -m companion.routines.reference --write`"


def test_routines_doc_is_generated_from_the_rules(repo_root: Path) -> None:
    doc = (repo_root / "docs" / "routines.md").read_text(encoding="utf-8")
    assert doc == routines_markdown(), f"docs/routines.md is {REGENERATE}"
    for key in rules.TOP_KEYS:
        assert f"| `{key}` |" in doc
    for kind, step in rules.STEP_RULES.items():
        assert f"### `{kind}`" in doc
        for sibling in step.siblings:
            assert f"| `{sibling}` |" in doc


def test_shipped_schema_is_up_to_date(repo_root: Path) -> None:
    shipped = (repo_root / "routines" / SCHEMA_FILE).read_text(encoding="utf-8")
    assert shipped == schema_text(), f"routines/{SCHEMA_FILE} is {REGENERATE}"


def test_every_shipped_routine_names_the_schema_first(repo_root: Path) -> None:
    routines = sorted((repo_root / "routines").glob("*.yaml"))
    assert routines
    for path in routines:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == SCHEMA_LINE, path.name
        assert (path.parent / SCHEMA_FILE).is_file()  # the relative path resolves


def test_schema_path_points_at_the_installed_schema(run_companion, repo_root: Path) -> None:
    out = run_companion("schema", "--path")
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip())
    assert path == repo_root / "routines" / SCHEMA_FILE  # the source tree is the install
    assert json.loads(path.read_text(encoding="utf-8")) == routine_schema()


def test_the_docs_exist_and_cover_their_subject(repo_root: Path) -> None:
    docs = repo_root / "docs"
    voices = (docs / "voices.md").read_text(encoding="utf-8")
    from companion.speech.voices import VOICE_KEYS

    for key in VOICE_KEYS:  # every key a voice file may hold has its row
        assert f"| `{key}` |" in voices, key
    assert "volume_db" in voices and "volume_cap_db" in voices
    commands = (docs / "commands-and-languages.md").read_text(encoding="utf-8")
    from companion.recognition.intents import Intent

    for intent in Intent:
        assert f"`{intent.value}`" in commands, intent
    service = (docs / "service.md").read_text(encoding="utf-8")
    assert "companion service install" in service and "RestrictAddressFamilies" in service
    assert "service install" in (docs / "privacy.md").read_text(encoding="utf-8")
