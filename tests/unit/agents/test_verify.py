import pytest
from neam.agents.verify import ABORT, DEFAULT_RETRY_FEEDBACK, FEEDBACK, PASS, RETRY, classify


@pytest.mark.parametrize(
    ("value", "kind", "feedback"),
    [
        (True, PASS, ""),
        (False, RETRY, DEFAULT_RETRY_FEEDBACK),
        (None, RETRY, DEFAULT_RETRY_FEEDBACK),
        (0, RETRY, DEFAULT_RETRY_FEEDBACK),
        ("", RETRY, DEFAULT_RETRY_FEEDBACK),
        ([], RETRY, DEFAULT_RETRY_FEEDBACK),
        ("retry", RETRY, DEFAULT_RETRY_FEEDBACK),
        ("retry: tests are missing", RETRY, "tests are missing"),
        ("Retry - the build fails", RETRY, "the build fails"),
        ("abort", ABORT, "abort"),
        ("Cannot continue, ABORTING", ABORT, "Cannot continue, ABORTING"),
        (
            "No tests found. Please create tests/test_main.py",
            FEEDBACK,
            "No tests found. Please create tests/test_main.py",
        ),
        (1, FEEDBACK, "1"),
        ({"missing": ["a"]}, FEEDBACK, '{"missing": ["a"]}'),
    ],
)
def test_classify(value, kind, feedback):
    verdict = classify(value)
    assert (verdict.kind, verdict.feedback) == (kind, feedback)
