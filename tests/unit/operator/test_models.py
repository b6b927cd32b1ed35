"""Spec parsing the CRD cannot express: maxCost as number or string, readable errors."""

from __future__ import annotations

import pytest
from neam_operator.models import AgentDAGSpec, ForgeRunSpec, spec_error
from pydantic import ValidationError


def _run(**spec: object) -> ForgeRunSpec:
    return ForgeRunSpec.model_validate({"source": {"inline": "x"}, **spec})


@pytest.mark.parametrize(
    ("given", "text"),
    [(1.5, "1.5"), (2, "2"), ("0.25", "0.25"), (1e-7, "0.0000001"), (0.1, "0.1"), (0, "0")],
)
def test_max_cost_takes_a_number_or_a_decimal_string(given: object, text: str) -> None:
    assert _run(maxCost=given).max_cost == text


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("abc", "'abc' is not a non-negative decimal"),
        ("-1", "'-1' is not a non-negative decimal"),
        (-0.5, "must be a non-negative number"),
        (float("inf"), "must be a non-negative number"),
        (1e17, "must be a non-negative number below"),
        (True, "not a boolean"),
        ([1], "Input should be a valid string"),
    ],
)
def test_a_bad_max_cost_names_the_field(given: object, why: str) -> None:
    with pytest.raises(ValidationError) as e:
        _run(maxCost=given)
    message = spec_error(e.value)
    assert message.startswith("spec.maxCost: "), message
    assert why in message


def test_errors_name_list_items_and_count_the_rest() -> None:
    with pytest.raises(ValidationError) as e:
        _run(env=[{"name": "OK", "value": "1"}, {"name": "1bad", "value": "2"}], maxCost="x")
    message = spec_error(e.value)
    assert message.startswith("spec.maxCost: "), message  # fields in schema order
    assert message.endswith("(and 1 more)")
    with pytest.raises(ValidationError) as e:
        _run(env=[{"name": "OK", "value": "1"}, {"name": "1bad", "value": "2"}])
    assert spec_error(e.value).startswith("spec.env[1].name: String should match")


def test_an_empty_agent_is_rejected() -> None:
    with pytest.raises(ValidationError, match="agent"):
        _run(agent="")
    with pytest.raises(ValidationError):
        AgentDAGSpec.model_validate(
            {"source": {"inline": "x"}, "nodes": [{"id": "a", "agent": ""}]}
        )
