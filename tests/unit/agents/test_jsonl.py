import json
import random

from neam.agents import jsonl

HOSTILE = [
    'quote " backslash \\ newline \n carriage \r tab \t',
    "nul \x00 bell \x07 escape \x1b[31m",
    "unicode ünïcødé 漢字 🚀 \u2028 \u2029",
    "lone surrogate \ud800 end",
    '{"type": "turn", "fake": true}\n{"injected": 1}',
    "",
]


def test_hostile_text_round_trips_one_line_per_record(tmp_path):
    path = tmp_path / "s.jsonl"
    for text in HOSTILE:
        jsonl.append(path, {"text": text})
    raw = path.read_bytes()
    assert raw.count(b"\n") == len(HOSTILE)
    for line in raw.splitlines():
        json.loads(line)  # every line is valid JSON on its own
    assert [r["text"] for r in jsonl.read_all(path)] == HOSTILE


def test_torn_last_line_is_skipped_and_next_append_stays_separate(tmp_path):
    path = tmp_path / "s.jsonl"
    jsonl.append(path, {"n": 1})
    jsonl.append(path, {"n": 2})
    with open(path, "ab") as fh:
        fh.write(b'{"n": 3, "text": "crash mid-wri')
    assert [r["n"] for r in jsonl.read_all(path)] == [1, 2]
    assert [r["n"] for r in jsonl.read_tail(path, 5)] == [1, 2]
    jsonl.append(path, {"n": 4})
    assert [r["n"] for r in jsonl.read_all(path)] == [1, 2, 4]


def test_read_tail_matches_full_read_for_any_block_size(tmp_path):
    path = tmp_path / "s.jsonl"
    rng = random.Random(7)
    for i in range(300):
        jsonl.append(path, {"i": i, "pad": "x" * rng.randint(0, 200)})
    everything = jsonl.read_all(path)
    for block in (1, 7, 64, 1000, 1 << 16):
        for count in (0, 1, 5, 299, 300, 1000):
            expected = everything[-count:] if count else []
            assert jsonl.read_tail(path, count, block=block) == expected


def test_first_line_count_and_missing_file(tmp_path):
    path = tmp_path / "s.jsonl"
    assert jsonl.read_first(path) is None
    assert jsonl.read_tail(path, 3) == []
    assert jsonl.count_lines(path) == 0
    jsonl.write_atomic(path, [{"a": 1}, {"b": 2}])
    assert jsonl.read_first(path) == {"a": 1}
    assert jsonl.count_lines(path) == 2
