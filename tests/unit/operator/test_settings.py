from __future__ import annotations

from neam_operator.settings import DEFAULT_IMAGE, Settings


def test_defaults_without_env() -> None:
    s = Settings.from_env({})
    assert s.runtime_image == DEFAULT_IMAGE
    assert s.health_host == "127.0.0.1"
    assert (s.metrics_host, s.metrics_port) == ("127.0.0.1", 8082)
    assert s.namespaces == ()
    assert s.resync_seconds == 300


def test_env_overrides() -> None:
    s = Settings.from_env(
        {
            "NEAM_RUNTIME_IMAGE": "registry.local/neam:dev",
            "NEAM_RUNTIME_CPU_LIMIT": "4",
            "NEAM_BACKOFF_LIMIT": "3",
            "NEAM_OPERATOR_HEALTH_PORT": "9999",
            "NEAM_OPERATOR_METRICS_HOST": "0.0.0.0",
            "NEAM_OPERATOR_METRICS_PORT": "9100",
            "NEAM_OPERATOR_NAMESPACES": "a,b",
            "NEAM_RESYNC_SECONDS": "30",
        }
    )
    assert s.resync_seconds == 30
    assert s.runtime_image == "registry.local/neam:dev"
    assert s.cpu_limit == "4"
    assert s.backoff_limit == 3
    assert s.health_port == 9999
    assert (s.metrics_host, s.metrics_port) == ("0.0.0.0", 9100)
    assert s.namespaces == ("a", "b")
