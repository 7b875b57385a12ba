"""Settings: defaults, a real file, and mistakes at file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.config import Settings, default_config_path, load_settings, settings_from_yaml
from companion.errors import ConfigError


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point platformdirs at a temporary home."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_missing_default_file_gives_defaults(xdg: Path) -> None:
    assert default_config_path() == xdg / "xdg_config_home" / "quiet-companion" / "config.yaml"
    s = load_settings()
    assert s == Settings()
    assert s.volume_cap_db == -6.0 and s.engine == "auto" and s.safewords == ("red",)
    assert s.user_routines_dir == xdg / "xdg_data_home" / "quiet-companion" / "routines"
    assert s.user_voices_dir == xdg / "xdg_data_home" / "quiet-companion" / "voices"


def test_default_file_is_read_when_present(xdg: Path) -> None:
    path = default_config_path()
    path.parent.mkdir(parents=True)
    path.write_text("voice: warm\n")
    assert load_settings().voice == "warm"


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_settings(missing)
    assert str(info.value).startswith(f"{missing}: settings file not found")


def test_full_file_and_path_expansion(xdg: Path, tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.yaml"
    path.parent.mkdir()
    path.write_text(
        "# my settings\n"
        "voice: steady\n"
        "volume_cap_db: -12\n"
        "output_device: USB Audio\n"
        "input_device: null\n"
        "user_routines_dir: ~/my-routines\n"
        "user_voices_dir: voices\n"
        "engine: vosk\n"
        "vosk_model: ~/models/vosk-small\n"
        "safewords: [Red, pineapple]\n"
        "commands_file: ~/commands.yaml\n")
    s = load_settings(path)
    home = xdg / "home"
    assert s == Settings(voice="steady", volume_cap_db=-12.0, output_device="USB Audio",
                         input_device=None, user_routines_dir=home / "my-routines",
                         user_voices_dir=path.parent / "voices", engine="vosk",
                         vosk_model=home / "models" / "vosk-small",
                         safewords=("red", "pineapple"), commands_file=home / "commands.yaml")


def test_empty_or_comment_only_file_gives_defaults() -> None:
    assert settings_from_yaml("# nothing yet\n") == Settings()
    assert settings_from_yaml("") == Settings()


@pytest.mark.parametrize("text, message", [
    ("volume_cap_db: 3\n", "c.yaml:1:16: volume_cap_db must be between -60 and 0, not 3"),
    ("volume: -6\n", ("c.yaml:1:1: unknown key 'volume' in the settings file (did you mean "
                     "'volume_db'?); allowed keys: "
                     "voice, volume_cap_db, volume_db, output_device, input_device, "
                     "user_routines_dir, user_voices_dir, engine, vosk_model, safewords, "
                     "commands_file")),
    ("engine: voks\n", ("c.yaml:1:9: engine 'voks' is not one of auto, pocketsphinx, vosk "
                       "(did you mean 'vosk'?)")),
    ("voice: gentle\nsafewords: [red, two words]\n",
     "c.yaml:2:18: safeword 'two words' must be one plain word (letters only), like red"),
    ("safewords: [yes]\n", ("c.yaml:1:13: safeword 'yes' is already a spoken command: pick a "
                           "word you would not say otherwise")),
    ("vosk_model: [a]\n", "c.yaml:1:13: vosk_model must be text, not a list"),
    ("- voice\n", ("c.yaml:1:1: the settings file must be a mapping of 'key: value' lines, "
                  "not a list")),
])
def test_settings_mistakes(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_yaml(text, Path("c.yaml"))
    assert str(info.value) == message


def test_volume_db_is_read_and_checked() -> None:
    from companion.config import settings_from_yaml
    from companion.errors import ConfigError

    assert settings_from_yaml("volume_db: -9\n").volume_db == -9.0
    assert settings_from_yaml("voice: warm\n").volume_db == 0.0
    with pytest.raises(ConfigError) as err:
        settings_from_yaml("volume_db: 6\n", Path("c.yaml"))
    assert str(err.value).startswith("c.yaml:1:12: volume_db")
