from decimal import Decimal

import pytest
from neam.agents import forge_state
from neam.agents.forge_state import ForgeState


def test_round_trip_keeps_exact_decimal(tmp_path):
    state = ForgeState(
        iteration=3, total_cost=Decimal("0.0042"), task_index=1, current_task='t\n"x"'
    )
    forge_state.save(tmp_path, "builder", state)
    assert forge_state.load(tmp_path, "builder") == state
    assert forge_state.load(tmp_path, "other") == ForgeState()
    assert [p.name for p in (tmp_path / ".neam-forge").iterdir()] == ["builder.json"]


def test_corrupt_state_is_an_error_not_a_reset(tmp_path):
    path = forge_state.state_path(tmp_path, "builder")
    path.parent.mkdir()
    path.write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        forge_state.load(tmp_path, "builder")
