"""The app through Starlette's TestClient: every page and API call, their limits and errors,
the output store's files (and every way of asking for a file outside it), busy and slow
requests, and the background runs."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from seqlab.web.app import create_app
from seqlab.web.pages import longterm, sentiment, text

from .helpers import raw_get, small_settings

PAGES = ["music", "text", "sentiment", "gradients", "longterm"]


def one_line_error(response, status: int, expected: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert "\n" not in message and "Traceback" not in message
    assert expected in message, message


# ----------------------------------------------------------------------------- pages
def test_the_front_page_links_every_page(client):
    page = client.get("/")
    assert page.status_code == 200
    for slug in PAGES:
        assert f'href="/{slug}"' in page.text


@pytest.mark.parametrize("slug", PAGES)
def test_every_page_has_the_layout_and_loads_only_from_this_server(client, slug):
    page = client.get(f"/{slug}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'aria-current="page"' in page.text and "/static/style.css" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no other host


def test_static_files_are_served(client):
    for name in ("style.css", "seqlab.js", "music.js", "text.js", "sentiment.js", "job.js", "LICENSE.md"):
        assert client.get(f"/static/{name}").status_code == 200


def test_an_unknown_page_is_a_page_with_a_message(client):
    page = client.get("/no-such-thing")
    assert page.status_code == 404 and "no such page: /no-such-thing" in page.text
    assert "Traceback" not in page.text


def test_an_unknown_api_call_and_a_wrong_method_are_one_line(client):
    one_line_error(client.get("/api/nowhere"), 404, "no such page")
    one_line_error(client.get("/api/music/generate"), 405, "GET is not allowed")


def test_health(client):
    answer = client.get("/api/health").json()
    assert answer["ok"] and answer["pages"] == PAGES


# ----------------------------------------------------------------------------- music
@pytest.fixture(scope="module")
def tune(client):
    answer = client.post("/api/music/generate", json={"count": 1, "seed": 7, "temperature": 1.0, "rhythm": "jig"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_music_generates_a_checked_tune_with_its_files(client, tune):
    assert tune["seed"] == 7 and tune["sampled"] >= 1
    [made] = tune["tunes"]
    assert "M:6/8" in made["abc"] and made["start"].startswith("R:jig\nM:6/8")
    assert made["validity"]["valid"] and made["validity"]["reasons"] == []
    assert made["svg"].lstrip().startswith(("<svg", "<?xml")) and 'class="note"' in made["svg"]
    kinds = {"abc": "text/plain", "midi": "audio/midi", "wav": "audio/wav", "svg": "image/svg+xml"}
    assert set(made["files"]) == set(kinds)
    for kind, media_type in kinds.items():
        response = client.get(made["files"][kind])
        assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)
        assert "sandbox" in response.headers["content-security-policy"]
    assert client.get(made["files"]["wav"]).content[:4] == b"RIFF"


def test_the_page_shows_the_verdicts_generation_made_without_reading_tunes_again(client, monkeypatch):
    """generate_tunes validated each kept tune; the page shows those verdicts rather than
    reading every tune with music21 a second time on the request path."""
    import seqlab.music

    calls = []
    real = seqlab.music.validate
    monkeypatch.setattr(seqlab.music, "validate", lambda tune: calls.append(tune) or real(tune))
    answer = client.post("/api/music/generate", json={"count": 2, "seed": 11, "rhythm": "reel"})
    assert answer.status_code == 200, answer.text
    assert calls == []  # the page itself validated nothing
    assert all(made["validity"]["valid"] and made["validity"]["parses"] for made in answer.json()["tunes"])


def test_more_like_this_starts_from_the_tune_and_a_new_seed(client, tune):
    start = tune["tunes"][0]["start"]
    answer = client.post("/api/music/generate", json={"count": 1, "start": start, "seed": 8})
    assert answer.status_code == 200, answer.text
    again = answer.json()["tunes"][0]
    assert again["start"] == start and "M:6/8" in again["abc"]


def test_concurrent_tune_requests_get_the_tunes_they_get_alone(client):
    """Requests sample in one shared batch, each with its own seed's generator: made at once,
    they get the tunes they get one at a time, which are generate_tunes' own for that seed.
    A request refused meanwhile (a bad start) fails alone."""
    from seqlab.tasks.music import generate_tunes, load_music_model
    from seqlab.web.pages.music import SAMPLE_ROUNDS, TUNE_LENGTH

    asks = [{"count": 1, "seed": 21, "rhythm": "reel"}, {"count": 2, "seed": 22}, {"count": 1, "seed": 23, "rhythm": "jig", "key": "G"}]

    def tunes(body: dict) -> list[str]:
        response = client.post("/api/music/generate", json=body)
        assert response.status_code == 200, response.text
        return [made["abc"] for made in response.json()["tunes"]]

    alone = [tunes(body) for body in asks]
    bad = {"count": 1, "start": "M:6/8\nK:D ☃"}
    with ThreadPoolExecutor(len(asks) + 1) as pool:
        refused = pool.submit(client.post, "/api/music/generate", json=bad)
        together = list(pool.map(tunes, asks))
    assert together == alone
    one_line_error(refused.result(), 400, "characters the model never saw")
    model, vocab, config = load_music_model(None)
    here = generate_tunes(model, vocab, 2, seed=22, dances=config["dances"], spare_streams=False, max_rounds=SAMPLE_ROUNDS,
                          max_length=TUNE_LENGTH)
    without_tempo = [[line for line in tune.split("\n") if not line.startswith("Q:")] for tune in alone[1]]
    assert without_tempo == [tune.split("\n") for tune in here.tunes]  # the page adds each tune's tempo


@pytest.mark.parametrize("body, expected", [
    ({"count": 0}, "count must be from 1 to 8, got 0"),
    ({"count": 99}, "count must be from 1 to 8"),
    ({"count": "two"}, "count must be a whole number"),
    ({"count": 1.5}, "count must be a whole number"),
    ({"count": True}, "count must be a whole number"),
    ({"temperature": 0}, "temperature must be from 0.1 to 3"),
    ({"temperature": "nan"}, "temperature must be a number"),
    ({"seed": -1}, "seed must be from 0"),
    ({"seed": 2**40}, "seed must be from 0 to 4,294,967,295"),
    ({"rhythm": "tango"}, "rhythm must be one of reel"),
    ({"meter": "7/q"}, "--meter '7/q'"),
    ({"key": "H"}, "unknown key 'H'"),
    ({"tempo": 5}, "tempo must be from 20"),
    ({"start": "M:6/8", "key": "D"}, "either a start or a rhythm"),
    ({"start": "x" * 2_001}, "start has 2,001 characters; give at most 2,000"),
    ({"start": "K:D\n\nK:G"}, "blank line"),
    ({"start": "M:6/8\nK:D ☃"}, "characters the model never saw"),
    ({"cuont": 2}, "unknown field 'cuont'"),
])
def test_music_refuses_bad_values_in_one_line(client, body, expected):
    one_line_error(client.post("/api/music/generate", json=body), 400, expected)


# ----------------------------------------------------------------------------- text
def test_text_predicts_the_next_words(client):
    answer = client.post("/api/text/predict", json={"prompt": "This morning I took my cat for a", "top": 5}).json()
    words = [entry["word"] for entry in answer["words"]]
    assert len(words) == 5 and "king" in words and "man" in words
    assert all(0 < entry["probability"] < 1 for entry in answer["words"])


def test_text_generates_after_a_prompt(client):
    answer = client.post("/api/text/generate", json={"prompt": "JULIET:", "length": 40, "seed": 1}).json()
    assert answer["text"].startswith("JULIET:") and len(answer["text"]) == len("JULIET:") + 40
    assert answer["seed"] == 1


def test_requests_share_no_sampler_state(client):
    """The same seed gives the same text, alone or among concurrent requests with other seeds."""
    def write(seed: int) -> str:
        response = client.post("/api/text/generate", json={"prompt": "ROMEO:", "length": 30, "seed": seed})
        return response.json()["text"]

    alone = write(5)
    with ThreadPoolExecutor(max_workers=6) as pool:
        texts = list(pool.map(write, [5, 6, 5, 6, 5, 6]))
    assert texts[0::2] == [alone] * 3
    assert texts[1::2] == [texts[1]] * 3 and texts[1] != alone


@pytest.mark.parametrize("path, body, expected", [
    ("predict", {"prompt": ""}, "prompt is empty"),
    ("predict", {"prompt": "   "}, "prompt is empty"),
    ("predict", {"prompt": "a" * (text.MAX_PROMPT + 1)}, "prompt has 2,001 characters; give at most 2,000"),
    ("predict", {"prompt": "for a", "top": 0}, "top must be from 1 to 20"),
    ("predict", {"prompt": 42}, "prompt must be text"),
    ("generate", {"prompt": "ROMEO:", "length": 0}, "length must be from 1 to 2,000"),
    ("generate", {"prompt": "ROMEO:", "length": 100_000}, "length must be from 1 to 2,000"),
    ("generate", {"prompt": "ROMEO:", "temperature": -1}, "temperature must be from"),
    ("generate", {"prompt": "ROMEO:", "top_k": 0}, "top_k must be from 1"),
    ("generate", {"length": 10}, "prompt is empty"),
])
def test_text_refuses_bad_values_in_one_line(client, path, body, expected):
    one_line_error(client.post(f"/api/text/{path}", json=body), 400, expected)


# ----------------------------------------------------------------------------- sentiment
def test_sentiment_gives_the_label_and_the_curve(client):
    sentence = "i expected it to be awful and it was great"
    answer = client.post("/api/sentiment/explain", json={"sentence": sentence}).json()
    assert answer["label"] in ("positive", "negative") and 0.5 <= answer["probability"] <= 1
    assert answer["words"] == sentence.split() and len(answer["positive"]) == len(answer["words"])
    assert answer["curve_svg"].startswith("<svg") and answer["curve_svg"].count("<circle") == len(answer["words"])


def test_the_curve_escapes_the_words():
    svg = sentiment.curve_svg(["<script>", "&"], [0.2, 0.9])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp;" in svg


@pytest.mark.parametrize("body, expected", [
    ({"sentence": ""}, "sentence is empty"),
    ({"sentence": "x " * 600}, "sentence has 1,200 characters; give at most 1,000"),
    ({"sentence": ["a", "list"]}, "sentence must be text"),
])
def test_sentiment_refuses_bad_values_in_one_line(client, body, expected):
    one_line_error(client.post("/api/sentiment/explain", json=body), 400, expected)


# ----------------------------------------------------------------------------- bodies
def test_a_body_that_is_not_json_or_too_large_is_refused(client):
    url = "/api/text/predict"
    one_line_error(client.post(url, content=b"prompt=for+a", headers={"Content-Type": "application/x-www-form-urlencoded"}),
                   415, "Content-Type: application/json")
    one_line_error(client.post(url, content=b"{not json", headers={"Content-Type": "application/json"}), 400, "not valid JSON")
    one_line_error(client.post(url, content=b"[1, 2]", headers={"Content-Type": "application/json"}), 400, "JSON object")
    one_line_error(client.post(url, json={"prompt": "a" * 70_000}), 413, "limit is 65,536")
    # A body larger than it says is cut off at the limit all the same.
    big = json.dumps({"prompt": "a" * 70_000}).encode()
    streamed = client.post(url, content=iter([big[:40_000], big[40_000:]]), headers={"Content-Type": "application/json"})
    one_line_error(streamed, 413, "larger than the limit")


# ----------------------------------------------------------------------------- files
@pytest.fixture(scope="module")
def tune_folder(tune):
    return tune["tunes"][0]["files"]["abc"].split("/")[2]


@pytest.mark.parametrize("path", [
    "/files/%2e%2e/%2e%2e/etc/passwd",  # ../../etc/passwd, percent-encoded
    "/files/..%2F..%2F..%2Fetc%2Fpasswd",
    "/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/files/%252e%252e%252f%252e%252e%252fetc%252fpasswd",  # double-encoded
    "/files/..%255c..%255cetc%255cpasswd",
    "/files/..%5c..%5c..%5cetc%5cpasswd",  # backslashes
    "/files/%5cetc%5cpasswd",
    "/files//etc/passwd",  # absolute
    "/files/%2Fetc%2Fpasswd",
    "/files/{folder}/..%2f..%2f..%2fetc%2fpasswd",
    "/files/{folder}/%2e%2e/%2e%2e/etc/passwd",
    "/files/{folder}/tune_1.abc%00.png",  # NUL
    "/files/{folder}/.",
    "/files/{folder}/run.log",  # not a kind of file the store serves
    "/files/../../etc/passwd",  # as a client sends it after tidying: /etc/passwd is no page
])
def test_no_file_outside_the_store_is_served(client, tune_folder, path):
    response = client.get(path.format(folder=tune_folder))
    assert response.status_code in (400, 404), response.text
    assert "root:" not in response.text
    if response.headers["content-type"].startswith("application/json"):
        assert "\n" not in response.json()["error"]


def test_traversal_is_refused_with_a_reason(client, tune_folder):
    one_line_error(client.get("/files/%2e%2e/%2e%2e/etc/passwd"), 400, "'..'")
    one_line_error(client.get("/files/..%5cetc%5cpasswd"), 400, "backslash")
    one_line_error(client.get("/files//etc/passwd"), 400, "absolute")
    one_line_error(client.get(f"/files/{tune_folder}/tune_9.abc"), 404, "no such file")


def test_a_link_out_of_the_store_is_refused(client):
    folder = client.app.state.runtime.store.new_folder()
    os.symlink("/etc/passwd", folder / "passwd.abc")
    one_line_error(client.get(f"/files/{folder.name}/passwd.abc"), 400, "leads out")


@pytest.mark.parametrize("path", [
    "/files/../../../../etc/passwd",
    "/files/..\\..\\..\\..\\etc\\passwd",
    "/files/{folder}/../../../../../etc/passwd",
    "/files/{folder}/../{folder}/tune_1.abc",
    "/static/../app.py",
    "/static/../../../../../etc/passwd",
    "/static/..%2fapp.py",
    "/../../etc/passwd",
    "/files/C:\\Windows\\win.ini",
])
def test_raw_paths_over_http_are_refused(live_server, client, tune_folder, path):
    """What a client that does not tidy `..` away sends, through uvicorn."""
    status, body = raw_get(live_server, path.format(folder=tune_folder))
    assert status in (400, 404) and b"root:" not in body and b"create_app" not in body


def test_double_encoding_over_http_is_refused_with_a_reason(live_server):
    """uvicorn decodes a path once (TestClient decodes twice, so this one goes over HTTP)."""
    status, body = raw_get(live_server, "/files/%252e%252e/%252e%252e/etc/passwd")
    assert status == 400 and "encoded" in json.loads(body)["error"]


def test_old_answers_are_removed_past_the_limit():
    with TestClient(create_app(small_settings(keep_folders=2))) as client:
        store = client.app.state.runtime.store
        folders = [store.new_folder() for _ in range(3)]
        assert [folder.exists() for folder in folders] == [False, True, True]
        root = store.root
    assert not root.exists()  # the store goes with the server


# ----------------------------------------------------------------------------- busy, slow, broken
def test_a_busy_server_answers_503_with_a_reason():
    with TestClient(create_app(small_settings(max_pending=0))) as client:
        one_line_error(client.post("/api/text/predict", json={"prompt": "for a"}), 503, "the server is busy")


def test_a_request_past_its_time_limit_answers_504(monkeypatch):
    monkeypatch.setattr(text, "next_words", lambda runtime, prompt, top: time.sleep(1))
    with TestClient(create_app(small_settings(request_seconds=0.05))) as client:
        one_line_error(client.post("/api/text/predict", json={"prompt": "for a"}), 504, "took longer than 0.05 s")


def test_a_bug_is_one_line_and_the_server_goes_on(client, monkeypatch, caplog):
    def broken(runtime, prompt, top):
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr(text, "next_words", broken)
    response = client.post("/api/text/predict", json={"prompt": "for a"})
    one_line_error(response, 500, "internal error")
    assert "a bug" not in response.text and "RuntimeError" not in response.text
    assert "RuntimeError: a bug" in caplog.text  # the traceback is on the server's console
    monkeypatch.undo()
    assert client.post("/api/text/predict", json={"prompt": "for a"}).status_code == 200


def test_a_model_that_cannot_load_answers_503():
    settings = small_settings(checkpoints={"sentiment": "/no/such/checkpoint"})
    with TestClient(create_app(settings)) as client:
        one_line_error(client.post("/api/sentiment/explain", json={"sentence": "good"}), 503,
                       "the sentiment model cannot be loaded")


# ----------------------------------------------------------------------------- runs with progress
def wait_for(client, url: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        status = client.get(url).json()
        if status["state"] != "running" or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_the_gradients_button_makes_the_plots_and_the_table(client):
    status = client.post("/api/gradients/run", json={}).json()
    assert status["state"] == "running"
    one_line_error(client.post("/api/gradients/run", json={}), 409, "already running")
    status = wait_for(client, "/api/gradients/status")
    assert status["state"] == "done" and status["progress"] == 1.0, status
    outputs = status["outputs"]
    assert [image["name"] for image in outputs["images"]] == ["gradient_flow.png", "exploding.png"]
    for entry in outputs["images"] + outputs["downloads"]:
        assert client.get(entry["url"]).status_code == 200
    assert client.get(outputs["images"][0]["url"]).content[:8] == b"\x89PNG\r\n\x1a\n"
    table = outputs["table"]
    assert table["columns"] == ["cell", "at init", "after training"]
    assert [row[0] for row in table["rows"]] == ["tanh RNN", "IRNN", "LSTM", "GRU"]


def test_a_run_that_fails_says_why():
    settings = small_settings(job_options={"gradients": ("--steps", "0")})
    with TestClient(create_app(settings)) as client:
        client.post("/api/gradients/run", json={})
        status = wait_for(client, "/api/gradients/status")
        assert status["state"] == "failed" and "--steps must be from 1" in status["error"]


def test_outputs_written_earlier_are_shown(tmp_path):
    earlier = tmp_path / "longterm"
    earlier.mkdir()
    (earlier / "longterm.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (earlier / "longterm.csv").write_text("problem,length,cell,metric,value,baseline,threshold,solved,steps,seconds,diverged\n"
                                          "adding,50,lstm,mse,0.005,0.167,0.01,True,900,12.0,False\n")
    with TestClient(create_app(small_settings(runs=tmp_path))) as client:
        status = client.get("/api/longterm/status").json()
        assert status["state"] == "idle" and str(earlier) in status["outputs"]["source"]
        assert status["outputs"]["table"]["rows"] == [["adding", "50", "lstm", "mse", "0.005", "0.167", "0.01", "True", "900", "12.0"]]
        assert client.get(status["outputs"]["images"][0]["url"]).status_code == 200
        assert client.get("/api/gradients/status").json()["outputs"] is None  # none there


def test_the_long_term_progress_is_read_from_the_table_lines():
    assert longterm.progress([]) == 0.0
    assert longterm.progress(["seqlab longterm table: 24 runs, 1 at a time", "[6/24] adding T=50 ...", "x"]) == 0.25
