import json
import threading

import pytest
from neam.agents.names import InvalidNameError, check_component
from neam.agents.sessions import SessionStore


@pytest.mark.parametrize(
    "bad", ["", "..", "../x", "a/b", "a\\b", ".hidden", "a..b", "x\x00", "/abs", "a b", "é"]
)
def test_unsafe_names_are_refused(bad, tmp_path):
    with pytest.raises(InvalidNameError):
        check_component(bad, "session key")
    with pytest.raises(InvalidNameError):
        SessionStore(tmp_path).path("agent", bad)


def test_safe_names_are_accepted():
    for good in ["user_42", "a", "tenant:1", "me@example.com", "x-y.z"]:
        assert check_component(good, "session key") == good


def test_append_loads_tail_and_counts(tmp_path):
    store = SessionStore(tmp_path)
    with store.open("bot", "k", 3) as session:
        for i in range(5):
            store.append_turn(session, {"user": f"u{i}", "assistant": f"a{i}"})
    fresh = SessionStore(tmp_path)  # cold load from disk
    with fresh.open("bot", "k", 3) as session:
        assert [t["user"] for t in session.history()] == ["u2", "u3", "u4"]
        assert session.turn_count == 5
    assert fresh.count("bot") == 1 and fresh.keys("bot") == ["k"]


def test_concurrent_appends_to_one_session_lose_nothing(tmp_path):
    store = SessionStore(tmp_path)
    threads_n, per_thread = 16, 25

    def worker(t):
        for i in range(per_thread):
            with store.open("bot", "shared", 10) as session:
                store.append_turn(session, {"user": f'{t}-{i}\n"x"', "assistant": "ok"})

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lines = (tmp_path / "bot" / "shared.jsonl").read_bytes().splitlines()
    users = [json.loads(line)["user"] for line in lines]
    assert len(users) == threads_n * per_thread
    assert sorted(users) == sorted(
        f'{t}-{i}\n"x"' for t in range(threads_n) for i in range(per_thread)
    )
    with SessionStore(tmp_path).open("bot", "shared", 10) as session:
        assert session.turn_count == threads_n * per_thread


def test_external_change_is_noticed(tmp_path):
    store = SessionStore(tmp_path)
    with store.open("bot", "k", 5) as session:
        store.append_turn(session, {"user": "one", "assistant": "1"})
    other = SessionStore(tmp_path)
    with other.open("bot", "k", 5) as session:
        other.append_turn(session, {"user": "two", "assistant": "2"})
    with store.open("bot", "k", 5) as session:
        assert [t["user"] for t in session.history()] == ["one", "two"]


def test_archive_moves_the_file_and_starts_fresh(tmp_path):
    store = SessionStore(tmp_path)
    with store.open("bot", "k", 5) as session:
        store.append_turn(session, {"user": "secret", "assistant": "x"})
        archived = store.archive(session)
        assert session.history() == [] and session.turn_count == 0
    assert archived is not None and archived.parent == tmp_path / "bot" / "archive"
    assert "secret" in archived.read_text()
    assert not (tmp_path / "bot" / "k.jsonl").exists()
    assert store.count("bot") == 0


def test_rewrite_keeps_summary_first_and_archives_old(tmp_path):
    store = SessionStore(tmp_path)
    with store.open("bot", "k", 50) as session:
        for i in range(6):
            store.append_turn(session, {"user": f"u{i}", "assistant": f"a{i}"})
        turns = store.read_turns(session)
        store.rewrite(session, "SUMMARY", 4, turns[4:])
    with SessionStore(tmp_path).open("bot", "k", 50) as session:
        assert session.summary == "SUMMARY"
        assert [t["user"] for t in session.history()] == ["u4", "u5"]
        assert session.turn_count == 2
    assert len(list((tmp_path / "bot" / "archive").glob("k.*.jsonl"))) == 1
