"""A pyttsx3 driver for ``hibari-tts``: only the voices inside the installed wheel.

hibari downloads any voice that is not bundled the first time it is asked for one. This
driver refuses such a voice before hibari sees its name and loads the model by path, so
no download can start (``tests/test_speech_engines.py`` proves it with the network cut).
Its G2P reads packed tables (``hibari_g2p``): 18 MB instead of 77 MB of resident memory.
hibari is imported with numpy's FFT, its documented fallback (:func:`_import_hibari`).
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Any

import numpy as np

from companion.speech.drivers.base import PcmDriver, join_sentences, release_freed_memory

NATIVE_WPM = 262.0
"""Words a minute within sentences at speed 1.0 (heart voice, measured on calm sentences)."""
SPEED_RANGE = (0.5, 2.0)
"""The speeds hibari documents."""
SEED = 0
"""Fixed noise seed: the same sentence always sounds the same (and caches)."""
_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()


def _import_hibari() -> ModuleType:
    """hibari, imported so that its vocoder uses numpy's FFT (hibari's own fallback), and
    without its downloader's HTTP stack.

    hibari takes ``scipy.fft`` when it can import it; scipy's import alone costs ~26 MB of
    resident memory and ~0.7 s, for no faster rendering here (one calm sentence: 52-54 ms of
    CPU with numpy's FFT, 56-58 ms with scipy's). Nothing else in the companion uses scipy.
    ``hibari.voices`` imports ``urllib.request`` (http.client, ssl: ~8 MB resident) only to
    download voices, which this driver never asks for: it gets a stand-in that refuses.
    """
    if "hibari" in sys.modules or "scipy.fft" in sys.modules:
        import hibari

        return hibari
    stand_ins: dict[str, ModuleType | None] = {"scipy.fft": None}  # "import scipy.fft" fails
    if "urllib.request" not in sys.modules:
        stand_ins["urllib.request"] = _no_downloads()
    sys.modules.update(stand_ins)  # type: ignore[arg-type]
    try:
        import hibari
        import hibari.voices  # noqa: F401 - the module that imports urllib.request
    finally:
        for name in stand_ins:
            del sys.modules[name]
    return hibari


def _no_downloads() -> ModuleType:
    """A ``urllib.request`` whose ``urlopen`` refuses (hibari's only use of it)."""
    module = ModuleType("urllib.request")

    def urlopen(*args: object, **kwargs: object) -> None:
        raise OSError("the companion never downloads a voice")

    module.urlopen = urlopen  # type: ignore[attr-defined]
    return module


def buildDriver(proxy: Any) -> HibariDriver:  # noqa: N802 - pyttsx3's entry point
    """pyttsx3 calls this to make the driver."""
    return HibariDriver(proxy)


def bundled_voices() -> list[str]:
    """The hibari voices that ship inside the installed package."""
    _import_hibari()
    from hibari.voices import VOICES

    return [name for name, info in VOICES.items() if info.get("bundled")]


def _model(name: str) -> Any:
    """The loaded model for bundled voice ``name`` (loaded once per process)."""
    with _LOCK:
        if name not in _MODELS:
            _import_hibari()
            from hibari import Hibari
            from hibari.voices import VOICES, voice_path

            from companion.speech.drivers.hibari_g2p import packed_g2p

            if name not in bundled_voices():
                raise ValueError(f"hibari voice '{name}' is not inside the package")
            path = voice_path(name, download_missing=False)
            model = Hibari(voice=name, model=path, threads=1,
                           g2p=packed_g2p(bool(VOICES[name].get("british"))))
            model.sess = None  # hibari's own session goes before the lean one is built
            release_freed_memory()
            model.sess = _lean_session(path)
            _MODELS[name] = model
        return _MODELS[name]


def _lean_session(path: str) -> Any:
    """The voice's onnxruntime session on one thread without the CPU memory arena.

    hibari builds its session with the arena on, which keeps the activations of the longest
    sentence so far (+15 MB after an 18 s sentence), and with memory patterns (+3 MB). Its
    own session is replaced before it ever runs; the audio is bit-identical
    (``tests/test_speech_hibari_g2p.py``).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


class HibariDriver(PcmDriver):
    """hibari's bundled voices; ``rate`` (words a minute) becomes its speed parameter."""

    def __init__(self, proxy: Any) -> None:
        super().__init__(proxy)
        self.sample_rate = int(_import_hibari().SAMPLE_RATE)
        self.properties.update(voice="heart", rate=NATIVE_WPM)

    def voices(self) -> list[Any]:
        """The bundled voices only."""
        from pyttsx3.voice import Voice

        return [Voice(id=name, name=name) for name in bundled_voices()]

    def check_voice(self, value: Any) -> None:
        """ValueError for a voice that is not in the wheel (it would be downloaded)."""
        if str(value) not in bundled_voices():
            raise ValueError(f"hibari voice '{value}' is not inside the package (only "
                             f"{', '.join(bundled_voices())}); other voices would download")

    def render(self, text: str) -> np.ndarray:
        """``text`` at the speed that gives the requested words a minute."""
        model = _model(str(self.properties["voice"]))
        low, high = SPEED_RANGE
        speed = min(high, max(low, float(self.properties["rate"]) / NATIVE_WPM))
        with _RUN_LOCK:  # one model, shared by every engine in the process
            parts = [np.asarray(p, dtype=np.float32)
                     for p in model.stream(text, speed=speed, seed=SEED)]
        return join_sentences(parts, self.sample_rate)
