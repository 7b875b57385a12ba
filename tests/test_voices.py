"""Voice profiles: loading, validation at file:line:col, the library, and real espeak-ng."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from companion.config import shipped_dir
from companion.errors import ConfigError, UnknownNameError
from companion.speech.voices import FALLBACK, Voice, VoiceLibrary, voice_from_dict, voice_from_yaml


def test_voice_from_yaml_reads_every_key() -> None:
    v = voice_from_yaml(io.StringIO(
        "name: soft\ndescription: Soft.\nespeak_voice: en-us+f2\nrate: 130\npitch: 30\n"
        "volume: 0.5\ndefault: true\n"), Path("v.yaml"))
    assert v == Voice(name="soft", espeak_voice="en-us+f2", rate=130, pitch=30, volume=0.5,
                      description="Soft.", default=True)
    assert v.source == Path("v.yaml")


def test_volume_db_is_the_voices_level_in_decibels() -> None:
    assert voice_from_yaml("name: a\nvolume_db: -6\n").volume == pytest.approx(0.501, abs=1e-3)
    assert voice_from_yaml("name: a\nvolume_db: 0\n").volume == 1.0


def test_voice_from_dict_uses_defaults() -> None:
    assert voice_from_dict({"name": "plain"}) == Voice(name="plain")


def test_engine_voice_and_loudness_are_read_and_piper_paths_are_beside_the_file(
        tmp_path: Path) -> None:
    hibari = voice_from_yaml("name: h\nengine: hibari\nloudness: -20\n", tmp_path / "h.yaml")
    assert (hibari.engine, hibari.engine_voice, hibari.loudness) == ("hibari", "heart", -20.0)
    piper = voice_from_yaml("name: p\nengine: piper\nvoice: joe.onnx\n", tmp_path / "p.yaml")
    assert piper.engine_voice == str(tmp_path / "joe.onnx")


@pytest.mark.parametrize("text, message", [
    ("name: a\nrate: 400\n", ("v.yaml:2:7: rate (words per minute) must be between 80 and 250, "
                             "not 400")),
    ("name: a\npitch: 120\n", "v.yaml:2:8: pitch must be between 0 and 99, not 120"),
    ("name: a\nvolume: 1.5\n", "v.yaml:2:9: volume must be between 0 and 1, not 1.5"),
    ("name: a\nvolume: loud\n", "v.yaml:2:9: volume must be a number, not text"),
    ("name: a\ndefault: maybe\n", "v.yaml:2:10: default must be true or false, not text"),
    ("name: a\nspeed: 130\n", ("v.yaml:2:1: unknown key 'speed' in a voice file; allowed keys: "
                              "name, description, engine, voice, espeak_voice, rate, pitch, "
                              "volume, volume_db, loudness, default")),
    ("name: a\nespeak_voice: en us\n", ("v.yaml:2:15: espeak_voice 'en us' is not an espeak-ng "
                                       "voice id like en-us or en-us+f3 (see `espeak-ng "
                                       "--voices`)")),
    ("rate: 130\n", "v.yaml:1:1: a voice file needs a 'name:' key"),
    ("name: a\nengine: festival\n", ("v.yaml:2:9: engine 'festival' is not one of espeak, "
                                     "hibari, piper")),
    ("name: a\nengine: piper\n", ("v.yaml:2:9: a piper voice needs `voice:` with the path of "
                                  "its .onnx file")),
    ("name: a\nloudness: -3\n", "v.yaml:2:11: loudness (LUFS) must be between -40 and -18, not -3"),
    ("name: a\nvolume_db: 3\n", "v.yaml:2:12: volume_db must be between -30 and 0, not 3"),
    ("name: a\nvolume: 0.5\nvolume_db: -6\n", ("v.yaml:3:12: give volume or volume_db, not both "
                                              "(volume_db: -3 is about volume: 0.71)")),
])
def test_voice_mistakes_are_reported_at_their_place(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        voice_from_yaml(text, Path("v.yaml"))
    assert str(info.value) == message


def test_library_default_override_and_errors(tmp_path: Path) -> None:
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    shipped.mkdir()
    user.mkdir()
    (shipped / "a.yaml").write_text("name: a\n")
    (shipped / "b.yaml").write_text("name: b\ndefault: true\nrate: 130\n")
    (user / "b.yaml").write_text("name: b\nrate: 170\n")
    (user / "c.yaml").write_text("name: c\ndefault: true\n")
    (user / "d.yaml").write_text("name: d\nrate: fast\n")
    lib = VoiceLibrary.load([shipped, user, tmp_path / "nowhere"])
    assert lib.names() == ["a", "b", "c"]
    assert lib.get("b").rate == 170
    assert lib.default().name == "c"
    assert [str(e) for e in lib.errors] == [
        f"{user / 'd.yaml'}:2:7: rate (words per minute) must be a whole number, not text"]
    with pytest.raises(UnknownNameError) as info:
        lib.get("cc")
    assert "did you mean 'c'" in str(info.value)


def test_default_without_a_marked_voice_is_the_first(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("name: b\n")
    (tmp_path / "a.yaml").write_text("name: a\n")
    assert VoiceLibrary.load([tmp_path]).default().name == "a"
    assert VoiceLibrary.load([tmp_path / "empty"]).default() == FALLBACK


@pytest.fixture(scope="module")
def shipped() -> VoiceLibrary:
    return VoiceLibrary.load([shipped_dir("voices")])


def test_shipped_voices_load_and_gentle_is_default(shipped: VoiceLibrary) -> None:
    assert shipped.errors == []
    assert {"gentle", "warm", "steady"} <= set(shipped.names())
    gentle = shipped.default()
    assert gentle.name == "gentle"
    assert (gentle.engine, gentle.engine_voice) == ("hibari", "heart")
    assert 140 <= gentle.rate <= 160
    assert len({v.espeak_voice for v in shipped.voices()}) == len(shipped.names())
    for v in shipped.voices():
        assert 130 <= v.rate <= 160, f"{v.name}: calm speech is 130-160 wpm"
        assert v.description
        assert v.loudness == -20.0


def _espeak_variants() -> set[str]:
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[4].removeprefix("!v/") for line in out.splitlines()[1:] if line.split()}


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_every_shipped_voice_really_speaks(shipped: VoiceLibrary, tmp_path: Path) -> None:
    """espeak-ng silently ignores an unknown +variant, so check the variant list as well."""
    variants = _espeak_variants()
    for v in shipped.voices():
        _base, _, variant = v.espeak_voice.partition("+")
        if variant:
            assert variant in variants, f"{v.name}: espeak-ng has no variant '{variant}'"
        out = tmp_path / f"{v.name}.wav"
        subprocess.run(["espeak-ng", "-v", v.espeak_voice, "-s", str(v.rate), "-p",
                        str(v.pitch), "-w", str(out), "I'm still here."], check=True)
        with wave.open(str(out)) as w:
            assert w.getnframes() / w.getframerate() > 0.5


def test_every_shipped_voice_is_accepted_by_pyttsx3s_espeak() -> None:
    """pyttsx3 selects voices with espeak_SetVoiceByName, which rejects e.g. 'en-gb'; our
    driver finds the voice file name for a language code, as espeak-ng's command line does."""
    from companion.speech.drivers.espeak_pcm import resolve_voice

    for v in VoiceLibrary.load([shipped_dir("voices")]).voices():
        assert resolve_voice(v.espeak_voice) is not None, v.espeak_voice
