"""Every loader of a user file (routines, voices, settings, commands) on broken files:
only the project's own one-line error comes out, with file:line:col, and nothing hangs or
blows up (alias bombs, deep nesting, huge numbers, binary, wrong encodings). A modest
run here; ``python -m benchmarks.fuzz`` runs 10,000 files."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz_inputs import LOADERS, broken_file, check_one, seeds

SEEDS = seeds()


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(LOADERS)), seed=st.integers(0, 2**32 - 1))
def test_a_broken_file_gives_only_our_error_with_its_place(kind, seed, tmp_path) -> None:
    path = tmp_path / f"{kind}.yaml"
    path.write_bytes(broken_file(random.Random(seed), kind, SEEDS[kind]))
    assert check_one(kind, path) is None


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(LOADERS)), data=st.binary(max_size=2000))
def test_arbitrary_bytes_give_only_our_error(kind, data, tmp_path) -> None:
    path = tmp_path / f"{kind}.yaml"
    path.write_bytes(data)
    assert check_one(kind, path) is None


@pytest.mark.parametrize("kind", sorted(LOADERS))
@pytest.mark.parametrize("text", [
    "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10)),
    "[" * 20000 + "]" * 20000,
    "pause: " + "9" * 5000 + "\n",
    "rate: 1e99999\n",
    "name: x\n\x07steps: []\n",
], ids=["alias-bomb", "deep-nesting", "5000-digit-number", "huge-float", "control-char"])
def test_the_known_attacks_are_refused_in_one_line(kind, text, tmp_path) -> None:
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text)
    assert check_one(kind, path) is None
