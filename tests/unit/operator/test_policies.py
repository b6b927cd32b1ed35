"""The admission policies in manifests/ are the ones the models generate."""

from __future__ import annotations

from pathlib import Path

import yaml
from neam_operator.policygen import policies, protected_fields

POLICIES = Path(__file__).resolve().parents[3] / "manifests" / "policies.yaml"


def _documents() -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(POLICIES.read_text())}


def test_the_committed_policies_match_the_models() -> None:
    assert POLICIES.read_text() == policies(), "run `make crds`"


def test_every_policy_is_bound_to_deny() -> None:
    docs = _documents()
    names = {name for kind, name in docs if kind == "ValidatingAdmissionPolicy"}
    assert names == {"neam-reporters-write-progress-only", "neam-forgerun-spec"}
    for name in names:
        binding = docs[("ValidatingAdmissionPolicyBinding", name)]
        assert binding["spec"] == {"policyName": name, "validationActions": ["Deny"]}
        assert docs[("ValidatingAdmissionPolicy", name)]["spec"]["failurePolicy"] == "Fail"


def test_every_status_field_but_progress_is_protected() -> None:
    fields = protected_fields()
    assert "progress" not in fields
    assert {"phase", "conditions", "completionTime", "outcome", "reason"} <= set(fields)
    policy = _documents()[("ValidatingAdmissionPolicy", "neam-reporters-write-progress-only")]
    expression = policy["spec"]["validations"][0]["expression"]
    for field in fields:
        assert f"object.status.{field} == oldObject.status.{field}" in expression
    assert policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"] == [
        "forgeruns/status"
    ]
