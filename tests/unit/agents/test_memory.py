import pytest
from neam.agents.memory import MemoryIndex, embed


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "notes.md").write_text(
        "# Shipping\n\nOrders ship from the Berlin warehouse within two days.\n\n"
        "# Returns\n\nRefunds are issued within 14 days of receiving the parcel."
    )
    (tmp_path / "faq.txt").write_text("The support line is open Monday to Friday.")
    (tmp_path / "code.py").write_text("refund refund refund")  # not Markdown/text
    hidden = tmp_path / ".git"
    hidden.mkdir()
    (hidden / "secret.md").write_text("refund policy secret")
    return tmp_path


@pytest.mark.parametrize("mode", ["keyword", "vector", "hybrid"])
def test_each_mode_finds_the_relevant_chunk(workspace, mode):
    hits = MemoryIndex(workspace).search("when are refunds issued", mode, limit=2)
    assert hits and "Refunds are issued" in hits[0]["text"]
    assert hits[0]["path"] == "notes.md"
    assert all(".git" not in h["path"] and not h["path"].endswith(".py") for h in hits)


def test_index_follows_file_changes(workspace):
    index = MemoryIndex(workspace)
    assert index.search("penguin", "keyword") == []
    (workspace / "zoo.md").write_text("The penguin enclosure opens at noon.")
    assert index.search("penguin", "keyword")[0]["path"] == "zoo.md"


def test_unknown_mode_and_empty_workspace(tmp_path):
    assert MemoryIndex(tmp_path / "missing").search("x", "hybrid") == []
    with pytest.raises(ValueError, match="unknown semantic_memory search mode"):
        MemoryIndex(tmp_path).search("x", "magic")


def test_embedding_is_normalised_and_deterministic():
    a, b = embed("hello world"), embed("hello world")
    assert a == b
    assert abs(sum(v * v for v in a.values()) - 1.0) < 1e-9
