"""The committed CRDs are generated from the models, structural and complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from neam_operator import crdgen

CRDS = Path(__file__).resolve().parents[3] / "crds"


def _walk(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(node, dict):
        out.append((where, node))
        for key in ("properties",):
            for name, sub in (node.get(key) or {}).items():
                out += _walk(sub, f"{where}.{name}")
        if isinstance(node.get("items"), dict):
            out += _walk(node["items"], f"{where}[]")
        if isinstance(node.get("additionalProperties"), dict):
            out += _walk(node["additionalProperties"], f"{where}{{}}")
    return out


def test_committed_crds_match_the_models() -> None:
    for kind in crdgen.KINDS:
        committed = (CRDS / f"neam.dev_{kind.plural}.yaml").read_text()
        assert committed == crdgen.render(kind), f"{kind.kind}: run `make crds`"


def test_generator_writes_every_kind(tmp_path: Path) -> None:
    assert crdgen.main([str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"neam.dev_{k.plural}.yaml" for k in crdgen.KINDS)


def test_schemas_are_structural_and_bounded() -> None:
    for kind in crdgen.KINDS:
        crd = yaml.safe_load(crdgen.render(kind))
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for where, node in _walk(schema):
            assert "$ref" not in node and "title" not in node, where
            assert node.get("additionalProperties") is not False, where
            if node.get("x-kubernetes-int-or-string"):
                continue
            assert "type" in node, f"{kind.kind}{where} has no type"
            if node["type"] == "array":
                assert "maxItems" in node, f"{kind.kind}{where} is unbounded"
            if "anyOf" in node:
                raise AssertionError(f"{kind.kind}{where}: anyOf left over")
        spec = schema["properties"]["spec"]
        src = spec["properties"]["source"]
        assert src["x-kubernetes-validations"][0]["rule"] == (
            "has(self.configMapRef) != has(self.inline)"
        )


def test_names_subresources_and_columns() -> None:
    crds = {k.kind: yaml.safe_load(crdgen.render(k)) for k in crdgen.KINDS}
    shorts = {k: c["spec"]["names"]["shortNames"] for k, c in crds.items()}
    assert shorts == {"ForgeRun": ["fr"], "ClawAgent": ["claw"], "AgentDAG": ["dag"]}
    for crd in crds.values():
        assert crd["spec"]["group"] == "neam.dev"
        assert crd["spec"]["names"]["categories"] == ["neam"]
        version = crd["spec"]["versions"][0]
        assert version["name"] == "v1alpha1"
        assert "status" in version["subresources"]
    claw = crds["ClawAgent"]["spec"]["versions"][0]["subresources"]["scale"]
    assert claw == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }
    cols = [c["name"] for c in crds["ForgeRun"]["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert cols[:8] == ["Agent", "Phase", "Outcome", "Iter", "Max", "Cost", "Branch", "Age"]


def test_forgerun_rules_cover_the_issue() -> None:
    crd = yaml.safe_load(crdgen.render(crdgen.KINDS[0]))
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    rules = " ".join(r["rule"] for r in spec["x-kubernetes-validations"])
    assert "self.maxIterations > 0" in rules
    assert "self.source == oldSelf.source" in rules
    assert spec["properties"]["maxCost"]["pattern"].startswith("^(0|[1-9]")
