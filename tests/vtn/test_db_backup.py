"""`vtn db backup` / `restore` (SQLite online backup API): a copy taken while the VTN writes, put back."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from support.processes import VtnProcess, add_client, lab_env, vtn_command


def _vtn(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*vtn_command(), *args], cwd=cwd, capture_output=True, text=True, env=lab_env())


async def test_backup_of_a_running_vtn_restores_with_its_clients(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'live' / 'vtn.db'}"
    vtn = VtnProcess(db, tmp_path / "vtn.log", lab_env())
    vtn.start()
    try:
        await vtn.ready()
        made = add_client(db, "acme", "ven")
        done = _vtn("db", "backup", "--db", db, "backups/one.db", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "schema revision" in done.stdout
    finally:
        vtn.stop()
    copy = tmp_path / "backups" / "one.db"
    assert not Path(f"{copy}-wal").exists()
    with sqlite3.connect(copy) as conn:  # a self-contained file
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    restored = f"sqlite:///{tmp_path / 'restored' / 'vtn.db'}"
    done = _vtn("db", "restore", "--db", restored, str(copy), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = _vtn("clients", "list", "--db", restored, "--json", cwd=tmp_path)
    assert [c["client_id"] for c in json.loads(listed.stdout)] == [made["client_id"]]
    again = _vtn("db", "restore", "--db", restored, str(copy), cwd=tmp_path)
    assert again.returncode == 2 and "repeat with --force" in again.stderr
    assert _vtn("db", "restore", "--db", restored, str(copy), "--force", cwd=tmp_path).returncode == 0
