"""The recording HTTP server the engine tests call (sopbench.testing.recorder)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from sopbench.testing.recorder import Recorder


def test_records_requests_and_echoes(recorder: Recorder) -> None:
    answer = httpx.post(
        recorder.url + "/a/b?x=1&x=2",
        json={"k": [1, 2]},
        headers={"X-One": "1"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True and body["method"] == "POST" and body["path"] == "/a/b"
    assert body["json"] == {"k": [1, 2]} and body["headers"]["x-one"] == "1"
    (seen,) = recorder.requests
    assert (seen.method, seen.path, seen.query) == ("POST", "/a/b", {"x": ["1", "2"]})
    assert seen.body == {"k": [1, 2]} and seen.header("X-ONE") == "1"
    assert seen.status == 200 and not seen.replay and seen.key is None
    assert abs(seen.at - time.time()) < 5
    assert httpx.head(recorder.url + "/h").status_code == 200
    assert recorder.requests_to("/h", "HEAD")[0].body is None


def test_fail_n_times_then_normal(recorder: Recorder) -> None:
    recorder.fail("/f", 503, times=2)
    codes = [httpx.get(recorder.url + "/f").status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert httpx.get(recorder.url + "/other").status_code == 200


def test_fail_for_ever_and_on_every_path(recorder: Recorder) -> None:
    recorder.fail("*", 404, times=None, json={"error": "gone"})
    for _ in range(3):
        answer = httpx.get(recorder.url + "/anything")
        assert answer.status_code == 404 and answer.json() == {"error": "gone"}


def test_throttle_sends_retry_after(recorder: Recorder) -> None:
    recorder.throttle("/t", retry_after=7)
    first = httpx.get(recorder.url + "/t")
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    assert httpx.get(recorder.url + "/t").status_code == 200


def test_respond_sets_the_normal_answer(recorder: Recorder) -> None:
    recorder.respond("/r", 201, json={"id": 9}, headers={"X-Request-Id": "abc"})
    answer = httpx.put(recorder.url + "/r", json={})
    assert answer.status_code == 201 and answer.json() == {"id": 9}
    assert answer.headers["x-request-id"] == "abc"


def test_slow_answers(recorder: Recorder) -> None:
    recorder.slow("/s", 0.5, times=1)
    started = time.monotonic()
    assert httpx.get(recorder.url + "/s").status_code == 200
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    httpx.get(recorder.url + "/s")
    assert time.monotonic() - started < 0.5
    recorder.slow("/s", 1.0)
    with pytest.raises(httpx.TimeoutException):
        httpx.get(recorder.url + "/s", timeout=0.3)
    recorder.wait_for(3, path="/s", timeout=10)  # recorded although the client gave up
    assert recorder.requests[-1].status == 200


def test_idempotency_key_replays_the_first_answer(recorder: Recorder) -> None:
    key = {"Idempotency-Key": "k-1"}
    first = httpx.post(recorder.url + "/pay", json={"n": 1}, headers=key).json()
    again = httpx.post(recorder.url + "/pay", json={"n": 2}, headers=key).json()
    assert again == first and first["json"] == {"n": 1}
    assert [r.replay for r in recorder.requests] == [False, True]
    assert recorder.completed() == {"k-1": 1}
    assert recorder.replays()[0].body == {"n": 2}


def test_errors_are_not_replayed(recorder: Recorder) -> None:
    recorder.fail("/pay", 500, times=1)
    key = {"Idempotency-Key": "k-2"}
    assert httpx.post(recorder.url + "/pay", headers=key).status_code == 500
    assert httpx.post(recorder.url + "/pay", headers=key).status_code == 200
    assert httpx.post(recorder.url + "/pay", headers=key).status_code == 200
    assert [(r.status, r.replay) for r in recorder.requests] == [
        (500, False),
        (200, False),
        (200, True),
    ]


def test_a_repeat_while_the_first_is_answered_waits_and_replays(recorder: Recorder) -> None:
    recorder.slow("/pay", 0.5, times=1)
    key = {"Idempotency-Key": "k-3"}
    answers: list[dict[str, object]] = []
    first = threading.Thread(
        target=lambda: answers.append(httpx.post(recorder.url + "/pay", headers=key).json())
    )
    first.start()
    time.sleep(0.1)
    second = httpx.post(recorder.url + "/pay", headers=key).json()
    first.join()
    assert answers == [second]
    assert recorder.completed() == {"k-3": 1}
    assert sorted(r.replay for r in recorder.requests) == [False, True]


def test_dedupe_can_be_turned_off() -> None:
    with Recorder(dedupe=False) as recorder:
        for _ in range(2):
            httpx.post(recorder.url + "/x", headers={"Idempotency-Key": "same"})
        assert recorder.completed() == {"same": 2}
        recorder.reset()
        assert recorder.requests == []


def test_stop_cuts_slow_answers_short() -> None:
    recorder = Recorder().start()
    recorder.slow("/s", 30)
    thread = threading.Thread(
        target=lambda: httpx.get(recorder.url + "/s", timeout=60), daemon=True
    )
    thread.start()
    recorder.wait_for(0)
    time.sleep(0.2)
    started = time.monotonic()
    recorder.stop()
    thread.join(timeout=5)
    assert time.monotonic() - started < 5
