"""The `monitoring` compose profile: Prometheus and Grafana, provisioned from monitoring/.

Validated offline like the rest of the compose file, and the dashboard is checked against
what `/metrics` really exports, so a renamed metric breaks here and not on a dark panel.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bots.metrics import Metrics
from core.observer import WriteKind
from core.pacing.budget import Budget
from tests.system import require

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "trickle.json"
_SETTING_PREFIXES = ("TRICKLE_", "SLACK_", "DISCORD_", "OPENAI_", "GRAFANA_", "PROMETHEUS_")


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict[str, Any]:
    """The compose file with the monitoring profile, resolved with nothing set."""
    require("compose")
    empty = tmp_path_factory.mktemp("compose") / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTING_PREFIXES)}
    result = subprocess.run(
        [
            "docker-compose",
            "-f",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(empty),
            "--profile",
            "monitoring",
            "config",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of the service's bind mounts, each checked read-only."""
    found = {}
    for volume in service["volumes"]:
        source, target, *mode = (
            volume.split(":")
            if isinstance(volume, str)
            else (volume["source"], volume["target"], "ro" if volume.get("read_only") else "rw")
        )
        if source.startswith("/"):
            assert mode == ["ro"], f"{volume} is not read-only"
            assert Path(source).exists(), f"{source} is mounted but missing"
            found[target] = source
    return found


@pytest.mark.parametrize("name", ["prometheus", "grafana"])
def test_monitoring_services_are_pinned_loopback_only_and_mount_the_repository_read_only(compose, name):
    service = compose["services"][name]
    assert service["profiles"] == ["monitoring"]
    image, _, tag = service["image"].rpartition(":")
    assert image in ("prom/prometheus", "grafana/grafana")
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{service['image']} is not pinned to a version"
    for port in service["ports"]:
        published = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port['published']}"
        assert published.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert all(Path(source).is_relative_to(MONITORING) for source in _mounts(service).values())


def test_prometheus_scrapes_every_trickle_service_on_its_http_port(compose):
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (discovery,) = job["dns_sd_configs"]
    trickle = {name for name, s in compose["services"].items() if s.get("image") == "trickle:latest"}
    assert set(discovery["names"]) == trickle == {"slack", "discord", "all"}
    ports = {compose["services"][name]["environment"]["TRICKLE_HTTP_PORT"] for name in trickle}
    assert ports == {str(discovery["port"])}
    assert "/etc/prometheus/prometheus.yml" in _mounts(compose["services"]["prometheus"])


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(compose):
    grafana = compose["services"]["grafana"]
    mounts = _mounts(grafana)
    assert Path(mounts["/etc/grafana/provisioning"]) == MONITORING / "grafana" / "provisioning"
    provisioning = MONITORING / "grafana" / "provisioning"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "trickle.yml").read_text())["providers"]
    assert Path(mounts[provider["options"]["path"]]) == DASHBOARD.parent
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    assert uids == {source["uid"]}


def _exported_names() -> set[str]:
    """Every series name trickle's /metrics body holds once each metric has a sample."""
    metrics = Metrics()
    answer = metrics.observer("slack")
    answer.placeholder(0.1)
    answer.first_token(0.2)
    answer.tokens(1)
    answer.edit()
    answer.wrote(WriteKind.INTERIM)
    answer.text_shown(0.3)
    answer.rate_limited()
    answer.surface_error("ratelimited")
    answer.ended("stop")
    metrics.watch_budgets("slack", lambda: [("chat.update", Budget(rate=1, burst=1, clock=lambda: 0.0))])
    families = text_string_to_metric_families(metrics.render().decode())
    return {sample.name for family in families for sample in family.samples}


def _queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    return exprs + [v["definition"] for v in dashboard["templating"]["list"]]


def test_every_metric_the_dashboard_queries_is_one_trickle_exports():
    dashboard = json.loads(DASHBOARD.read_text())
    used = {name for query in _queries(dashboard) for name in re.findall(r"\btrickle_[a-z0-9_]+", query)}
    assert not used - _exported_names(), f"the dashboard queries metrics /metrics lacks: {used - _exported_names()}"
    assert {
        "trickle_token_staleness_seconds_bucket",
        "trickle_writes_total",
        "trickle_budget_tokens",
        "trickle_budget_queue",
        "trickle_rate_limited_total",
        "trickle_active_streams",
        "trickle_time_to_first_token_seconds_bucket",
    } <= used
    for query in _queries(dashboard):
        assert query.count("(") == query.count(")"), query
