"""docs/observability.md and docs/prometheus/ agree with the exposed metrics; promtool accepts them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vtn.observability.metrics import DbGauges, DbSnapshot, VtnMetrics

DOCS = Path(__file__).resolve().parents[2] / "docs"


def exposed() -> set[str]:
    text = VtnMetrics().exposition([DbGauges(DbSnapshot(0, 0.0, 0, 0, 0))]).decode()
    names = set()
    for family in text_string_to_metric_families(text):
        if family.name.endswith("_created"):  # prometheus_client's creation times of counters
            continue
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


def test_the_metric_table_lists_exactly_the_exposed_metrics() -> None:
    documented = set(re.findall(r"^\| `(vtn_[a-z0-9_]+)` \|", (DOCS / "observability.md").read_text(), re.M))
    assert documented == exposed()


def test_alert_rules_use_only_exposed_metrics() -> None:
    rules = (DOCS / "prometheus" / "vtn-alerts.yml").read_text()
    used = {re.sub(r"_(bucket|count|sum)$", "", name) for name in re.findall(r"\bvtn_[a-z0-9_]+", rules)}
    assert used and used <= exposed()


@pytest.mark.skipif(
    shutil.which("promtool") is None and not os.environ.get("CI"),
    reason="promtool (Debian package prometheus) is not installed; .ci/run installs it",
)
def test_promtool_accepts_the_scrape_config_and_the_alert_rules() -> None:
    folder = DOCS / "prometheus"
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "vtn-alerts.yml"]):
        done = subprocess.run(["promtool", *args], cwd=folder, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
