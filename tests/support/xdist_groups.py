"""Scheduling for `pytest -n N --dist loadgroup` (what `make test` runs): which tests must share a worker.

A test that uses a module-scoped fixture (a third-party peer's whole run, a PKI) stays on one worker
with the rest of its module, so the fixture is made once; a test marked `xdist_group(name)` goes with its
group; every other test goes to whichever worker is free. Grouping whole files instead (`loadfile`)
would also serialise files such as the end-to-end tests, whose fixtures are per test, and leave one
worker finishing a long file alone.

Only the workers see fixtures, and the controller schedules by node id, so each worker writes the groups
it collected to a file the controller names; the scheduler reads it once every worker has collected.
pytest-xdist's own loadgroup cannot carry marks on pytest 9.2 (it renames node ids, which no longer
works: pytest-xdist issue #1386); this scheduler honours them as well.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

KEY = "ec_xdist_groups"
GROUPED_SCOPES = frozenset({"module", "package", "class"})


def _group_of(item: pytest.Item) -> str | None:
    for mark in item.iter_markers("xdist_group"):
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    info = getattr(item, "_fixtureinfo", None)
    if info is not None and any(d[-1].scope in GROUPED_SCOPES for d in info.name2fixturedefs.values()):
        return item.nodeid.split("::")[0]
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None or KEY not in workerinput:
        return
    groups = {item.nodeid: group for item in items if (group := _group_of(item)) is not None}
    target = Path(workerinput[KEY]) / f"{workerinput['workerid']}.json"
    target.write_text(json.dumps(groups))


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Controller(), "ec-xdist-groups")


class _Controller:
    """Hooks of the controlling process (only registered when xdist is installed)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ec-xdist-"))

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[KEY] = str(self.folder)

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "loadgroup":
            return None
        from xdist.scheduler import LoadGroupScheduling

        folder = self.folder

        class Grouped(LoadGroupScheduling):  # type: ignore[misc]
            groups: dict[str, str] | None = None

            def _split_scope(self, nodeid: str) -> str:
                if self.groups is None:
                    self.groups = {}
                    for path in folder.glob("*.json"):
                        self.groups.update(json.loads(path.read_text()))
                return self.groups.get(nodeid) or str(super()._split_scope(nodeid))

        return Grouped(config, log)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        for path in self.folder.glob("*.json"):
            path.unlink(missing_ok=True)
        os.rmdir(self.folder)
