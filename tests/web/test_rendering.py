"""seqlab.web.rendering: tunes' files written by worker processes, and a worker that dies."""

from __future__ import annotations

import importlib.util

import pytest

from seqlab.web.rendering import WARM_UP_TUNE, RenderPool
from seqlab.web.work import WebError

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ("music21", "verovio", "mido")),
    reason="rendering needs music21, verovio and mido",
)


def test_workers_write_the_files_and_a_dead_worker_is_503_then_replaced(tmp_path):
    pool = RenderPool(1)
    try:
        [made] = pool.render([WARM_UP_TUNE], tmp_path / "first")
        assert made.errors == [] and made.svg.read_text().count('class="note"') > 0
        assert made.midi.stat().st_size > 0 and made.wav.read_bytes()[:4] == b"RIFF"
        [worker] = pool._current()._processes.values()
        worker.kill()
        worker.join()
        with pytest.raises(WebError, match="rendering process stopped") as caught:
            pool.render([WARM_UP_TUNE], tmp_path / "second")
        assert caught.value.status == 503
        [again] = pool.render([WARM_UP_TUNE], tmp_path / "third")  # new workers
        assert again.errors == [] and again.svg is not None
    finally:
        pool.close()
