"""WAV reading/writing, resampling and the file source/sink (no devices needed)."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from companion.audio.resample import Resampler, resample
from companion.audio.stream import CHUNK_BYTES, INPUT_RATE, AudioSink, AudioSource
from companion.audio.wav import WavError, WavSink, WavSource, read_wav
from companion.errors import CompanionError


def tone(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


def write_raw_wav(path: Path, x: np.ndarray, rate: int, kind: str, channels: int = 1,
                  extensible: bool = False) -> None:
    """Write ``x`` (frames x channels float) in one of: u8, s16, s24, s32, f32, f64."""
    x = np.atleast_2d(x.T).T if x.ndim == 1 else x
    if kind == "u8":
        data, tag, width = (np.round(x * 127) + 128).astype(np.uint8).tobytes(), 1, 1
    elif kind == "s16":
        data, tag, width = np.round(x * 32767).astype("<i2").tobytes(), 1, 2
    elif kind == "s24":
        v = np.round(x * (2**23 - 1)).astype("<i4").tobytes()
        data = b"".join(v[i:i + 3] for i in range(0, len(v), 4))
        tag, width = 1, 3
    elif kind == "s32":
        data, tag, width = np.round(x * (2**31 - 1)).astype("<i4").tobytes(), 1, 4
    elif kind == "f32":
        data, tag, width = x.astype("<f4").tobytes(), 3, 4
    else:
        data, tag, width = x.astype("<f8").tobytes(), 3, 8
    align = width * channels
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align,
                      align, width * 8)
    if extensible:
        guid = struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, width * 8, 0) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 4) + b"INFO"  # an extra chunk to skip
    body += b"data" + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def level_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x))) + 1e-12))


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("kind", ["u8", "s16", "s24", "s32", "f32", "f64"])
def test_wav_source_reads_any_format_and_rate(tmp_path: Path, rate: int, kind: str) -> None:
    x = tone(440, rate, 0.5)
    path = tmp_path / f"t_{kind}_{rate}.wav"
    write_raw_wav(path, x, rate, kind)
    src = WavSource(path)
    chunks = []
    while (c := src.read()) is not None:
        chunks.append(c)
    assert all(len(c) == CHUNK_BYTES for c in chunks)
    y = np.frombuffer(b"".join(chunks), "<i2") / 32768.0
    assert abs(len(y) - 0.5 * INPUT_RATE) < 320
    ref = tone(440, INPUT_RATE, 0.5)
    mid = slice(800, 7200)
    err = y[mid] - ref[mid]
    snr = 10 * np.log10(np.mean(ref[mid] ** 2) / np.mean(err ** 2))
    assert snr > (35 if kind == "u8" else 60), snr
    assert src.read() is None


@pytest.mark.parametrize("extensible", [False, True])
def test_stereo_becomes_mono(tmp_path: Path, extensible: bool) -> None:
    left, right = tone(440, 16000, 0.2), tone(440, 16000, 0.2, amp=0.1)
    path = tmp_path / "st.wav"
    write_raw_wav(path, np.stack([left, right], axis=1), 16000, "f32", channels=2,
                  extensible=extensible)
    x, rate = read_wav(path)
    assert rate == 16000
    np.testing.assert_allclose(x, (left + right) / 2, atol=1e-6)


def test_last_chunk_padded_and_close(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    write_raw_wav(path, tone(300, 16000, 0.03), 16000, "s16")  # 480 samples
    src = WavSource(path)
    assert isinstance(src, AudioSource)
    first, second = src.read(), src.read()
    assert first is not None and second is not None and len(second) == CHUNK_BYTES
    assert np.all(np.frombuffer(second, "<i2")[160:] == 0)
    src.close()
    assert src.read() is None


def test_realtime_source_gives_same_chunks(tmp_path: Path) -> None:
    path = tmp_path / "rt.wav"
    write_raw_wav(path, tone(300, 22050, 0.1), 22050, "s16")
    fast, slow = WavSource(path), WavSource(path, realtime=True)
    assert [fast.read() for _ in range(6)] == [slow.read() for _ in range(6)]


def test_wav_sink_round_trip_and_valid_while_open(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    sink = WavSink(path, sample_rate=22050)
    assert isinstance(sink, AudioSink)
    x = tone(500, 22050, 0.3).astype(np.float32)
    for i in range(0, len(x), 1000):
        sink.write(x[i:i + 1000])
    sink.cut()  # no-op on a file
    with wave.open(str(path)) as w:  # readable before close (interrupted process)
        assert w.getnframes() == len(x) and w.getframerate() == 22050
    assert sink.frames_written == len(x)
    sink.close()
    y, rate = read_wav(path)
    assert rate == 22050 and len(y) == len(x)
    assert np.max(np.abs(y - x)) < 1.0 / 16000
    sink.close()  # idempotent


def test_wav_sink_clips(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    with WavSink(path, 16000) as sink:
        sink.write(np.array([2.0, -2.0, 0.5], dtype=np.float32))
    y, _ = read_wav(path)
    assert y[0] == pytest.approx(32767 / 32768) and y[1] == pytest.approx(-32767 / 32768)


@pytest.mark.parametrize("src,dst", [(22050, 16000), (44100, 16000), (48000, 16000),
                                     (8000, 16000), (16000, 22050)])
def test_resample_keeps_passband_and_length(src: int, dst: int) -> None:
    x = tone(1000, src, 1.0)
    y = resample(x, src, dst)
    assert len(y) == dst
    ref = tone(1000, dst, 1.0)
    assert level_db(y[400:-400] - ref[400:-400]) < level_db(ref) - 60


@pytest.mark.parametrize("src", [22050, 44100, 48000])
def test_resample_rejects_aliases(src: int) -> None:
    above = tone(0.55 * 16000, src, 0.5)  # 8.8 kHz: above the new Nyquist frequency
    y = resample(above, src, 16000)
    assert level_db(y[400:-400]) < level_db(above) - 60


def test_streaming_resampler_matches_one_shot() -> None:
    x = np.random.default_rng(0).standard_normal(22050)
    r = Resampler(22050, 16000)
    parts = [r.process(x[i:i + 441]) for i in range(0, len(x), 441)] + [r.flush()]
    np.testing.assert_allclose(np.concatenate(parts), resample(x, 22050, 16000), atol=1e-12)


def _one_line_error(path: Path) -> str:
    with pytest.raises(CompanionError) as info:
        WavSource(path)
    assert isinstance(info.value, WavError)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_missing_file_error(tmp_path: Path) -> None:
    assert "no such file" in _one_line_error(tmp_path / "nope.wav")


def test_not_a_wav_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("hello, this is text\n")
    msg = _one_line_error(path)
    assert "not a WAV" in msg and "sox" in msg


def test_mp3_named_wav_error(tmp_path: Path) -> None:
    path = tmp_path / "song.wav"
    path.write_bytes(b"ID3\x03\x00" + bytes(200))
    assert "sox song.wav -r 16000 -c 1" in _one_line_error(path)


def test_damaged_and_unsupported_errors(tmp_path: Path) -> None:
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")
    assert "damaged" in _one_line_error(trunc)
    alaw = tmp_path / "alaw.wav"
    write_raw_wav(alaw, tone(440, 8000, 0.1), 8000, "u8")
    data = bytearray(alaw.read_bytes())
    data[20:22] = struct.pack("<H", 6)  # WAVE_FORMAT_ALAW
    alaw.write_bytes(bytes(data))
    assert "unsupported encoding" in _one_line_error(alaw)
    nodata = tmp_path / "nodata.wav"
    nodata.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"
                       + struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16))
    assert "no 'data' chunk" in _one_line_error(nodata)
