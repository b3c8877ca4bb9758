"""seqlab.web.batching: many callers' streams sampled together in one child process, each job
with its own generator, as if it ran alone."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from seqlab.sample import SamplingConfig, SamplingJob, collect, stream_job
from seqlab.web.batching import BatchedSampler
from seqlab.web.work import WebError

from . import tiny_model

LENGTH = 40


@pytest.fixture(scope="module")
def sampler():
    sampler = BatchedSampler(tiny_model.load, "test-sampler")
    yield sampler
    sampler.close()


def alone(seed: int, prompt, streams: int, config: SamplingConfig) -> tuple[list[str], torch.Tensor]:
    """The texts sampled here, in this process, and the generator's state after them."""
    model, vocab = tiny_model.load()
    generator = torch.Generator().manual_seed(seed)
    texts = collect(stream_job(model, vocab, SamplingJob(prompt, LENGTH, config, streams, generator, stop="|")), streams).texts
    return texts, generator.get_state()


def shared(sampler: BatchedSampler, seed: int, prompt, streams: int, config: SamplingConfig):
    generator = torch.Generator().manual_seed(seed)
    texts = collect(sampler.streams(SamplingJob(prompt, LENGTH, config, streams, generator, stop="|")), streams).texts
    return texts, generator.get_state()


JOBS = [  # seed, prompt(s), streams, config
    (1, "ab", 3, SamplingConfig()),
    (2, ["h", "gf"], 2, SamplingConfig(temperature=0.5, top_k=3)),
    (3, "c", 4, SamplingConfig(temperature=2.0)),
    (1, "ab", 3, SamplingConfig()),  # the first one again, at the same time
]


def test_concurrent_jobs_get_what_they_get_alone(sampler):
    """Texts, and the generator's state after them (a caller samples on from there)."""
    expected = [alone(*job) for job in JOBS]
    with ThreadPoolExecutor(len(JOBS)) as pool:
        for _ in range(3):  # the jobs arrive together, in the batch at once
            got = list(pool.map(lambda job: shared(sampler, *job), JOBS))
            for (texts, state), (want_texts, want_state) in zip(got, expected):
                assert texts == want_texts and torch.equal(state, want_state)
    assert len({tuple(texts) for texts, _ in expected}) == 3  # the jobs do differ


def test_a_failing_job_fails_alone(sampler):
    def failing():
        finished = sampler.streams(SamplingJob("c", LENGTH, streams=2, generator=torch.Generator().manual_seed(5),
                                               constraints=[tiny_model.FailsAt(99), tiny_model.FailsAt(5)]))
        with pytest.raises(RuntimeError, match="a bug in a constraint"):
            collect(finished, 2)

    with ThreadPoolExecutor(1) as pool:
        failed = pool.submit(failing)
        texts, _ = shared(sampler, *JOBS[0])  # in the batch beside it
        failed.result()
    assert texts == alone(*JOBS[0])[0]


def test_a_closed_job_keeps_its_generator_and_the_sampler_goes_on(sampler):
    generator = torch.Generator().manual_seed(9)
    before = generator.get_state()
    streams = sampler.streams(SamplingJob(["a", "b"], 1_000_000, streams=2, generator=generator, stop="|"))
    next(streams)  # one stream has written its "|"; the other may run on for long
    streams.close()
    assert torch.equal(generator.get_state(), before)  # the caller is done with it
    assert shared(sampler, *JOBS[1])[0] == alone(*JOBS[1])[0]


def test_a_job_past_its_deadline_is_504(sampler):
    streams = sampler.streams(SamplingJob("a", 100_000), deadline=time.monotonic() + 0.05)
    with pytest.raises(WebError, match="time limit") as caught:
        next(streams)
    assert caught.value.status == 504
    assert shared(sampler, *JOBS[2])[0] == alone(*JOBS[2])[0]


def test_a_dead_sampler_process_is_503_and_the_next_job_starts_another():
    sampler = BatchedSampler(tiny_model.load, "test-sampler")
    try:
        streams = sampler.streams(SamplingJob("a", 10_000_000))
        first = sampler._process

        def kill_soon():
            time.sleep(0.5)
            first.kill()

        with ThreadPoolExecutor(1) as pool:
            pool.submit(kill_soon)
            with pytest.raises(WebError, match="sampler process stopped") as caught:
                next(streams)
        assert caught.value.status == 503
        assert shared(sampler, *JOBS[0])[0] == alone(*JOBS[0])[0]
        assert sampler._process is not first
    finally:
        sampler.close()
