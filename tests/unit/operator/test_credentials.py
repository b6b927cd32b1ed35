"""Reading API-server credentials from kubeconfig files."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from neam_operator.credentials import CredentialsError, TokenFile, from_kubeconfig, load


def _write(tmp_path: Path, cluster: dict, user: dict) -> Path:
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_files_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"certificate-authority": "pki/ca.crt"},
        {"client-certificate": "pki/admin.crt", "client-key": "/abs/admin.key"},
    )
    creds = from_kubeconfig(path)
    assert creds.server == "https://127.0.0.1:6443"
    assert creds.ca_file == str(tmp_path / "pki" / "ca.crt")
    assert creds.cert_file == str(tmp_path / "pki" / "admin.crt")
    assert creds.key_file == "/abs/admin.key"
    assert creds.bearer() is None


def test_embedded_data_and_token(tmp_path: Path) -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    path = _write(
        tmp_path,
        {"certificate-authority-data": base64.b64encode(pem).decode()},
        {"token": "t0k3n"},
    )
    creds = from_kubeconfig(path)
    assert creds.ca_file is not None and Path(creds.ca_file).read_bytes() == pem
    assert oct(Path(creds.ca_file).stat().st_mode & 0o777) == "0o600"
    assert creds.bearer() == "t0k3n"


def test_token_file_and_kubeconfig_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tok").write_text("from-file\n")
    path = _write(tmp_path, {"insecure-skip-tls-verify": True}, {"tokenFile": "tok"})
    monkeypatch.setenv("KUBECONFIG", str(path))
    creds = load()
    assert isinstance(creds.token, TokenFile) and creds.bearer() == "from-file"
    assert creds.ssl_context() is False


def test_exec_plugins_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {}, {"exec": {"command": "aws"}})
    with pytest.raises(CredentialsError, match="not supported"):
        from_kubeconfig(path)


def test_a_named_context_and_its_namespace(tmp_path: Path) -> None:
    path = _write(tmp_path, {}, {"token": "t"})
    cfg = yaml.safe_load(path.read_text())
    cfg["clusters"].append({"name": "k2", "cluster": {"server": "https://127.0.0.1:7443"}})
    cfg["contexts"].append(
        {"name": "other", "context": {"cluster": "k2", "user": "u", "namespace": "team"}}
    )
    path.write_text(yaml.safe_dump(cfg))
    assert from_kubeconfig(path).namespace is None
    other = load(str(path), context="other")
    assert (other.server, other.namespace) == ("https://127.0.0.1:7443", "team")
    with pytest.raises(CredentialsError, match="no context named 'nope'"):
        load(str(path), context="nope")


def test_embedded_files_go_to_the_given_directory(tmp_path: Path) -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    path = _write(tmp_path, {"certificate-authority-data": base64.b64encode(pem).decode()}, {})
    workdir = tmp_path / "private"
    workdir.mkdir()
    creds = from_kubeconfig(path, workdir=workdir)
    assert creds.ca_file is not None and Path(creds.ca_file).parent == workdir
