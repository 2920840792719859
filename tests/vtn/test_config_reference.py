"""docs/config-reference.md is the output of `vtn config reference` and names every key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vtn.cli.config_cmd import reference, rows
from vtn.config import TlsSettings, VtnConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "config-reference.md"


def test_committed_reference_is_current() -> None:
    assert DOC.read_text() == reference(), (
        "docs/config-reference.md is stale: run `vtn config reference > docs/config-reference.md`"
    )


def test_every_key_is_listed_with_its_environment_name_and_every_key_loads() -> None:
    listed = {key.removeprefix("[tls] "): env for key, _, _, env, _ in rows()}
    expected = {f.name for f in dataclasses.fields(VtnConfig)} - {"tls", "external_issuer"}
    expected |= {f.name for f in dataclasses.fields(TlsSettings)}
    assert expected <= set(listed)
    assert listed["port"] == "VTN_PORT" and listed["cert_file"] == "VTN_TLS_CERT_FILE"
    # Each environment name is one VtnConfig.load accepts.
    for env in listed.values():
        assert env.startswith("VTN_")
    loaded = VtnConfig.load(env={"VTN_TLS_CLIENT_CERT": "none", "VTN_TRUSTED_PROXIES": "127.0.0.1"})
    assert loaded.trusted_proxies == "127.0.0.1"
