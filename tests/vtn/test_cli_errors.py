"""Every `vtn` failure a user can cause: one line on stderr that says what to do, exit status 2.

Most cases call `vtn.cli.main` in this process (fast); the ones about the installed script, the
traceback under `--debug` and a missing server stack run it as a real process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import lab_env, vtn_command

from vtn.cli import main

PG = "postgresql://postgres@127.0.0.1:5432"


def _pg_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


needs_pg = pytest.mark.skipif(not _pg_up() and not os.environ.get("CI"), reason="PostgreSQL not running")


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run `vtn argv`; assert exit 2 and a single `vtn: error:` line; return that line."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    # Log lines (e.g. migrations run before a port turned out to be taken) may precede it.
    errors = [line for line in err.splitlines() if line.startswith("vtn: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert err.rstrip().endswith(errors[0]), err
    return errors[0]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("VTN_")]:
        monkeypatch.delenv(key)
    yield tmp_path


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_serve_port_in_use(capsys: pytest.CaptureFixture[str], in_tmp: Path, busy_port: int) -> None:
    line = fails(capsys, "serve", "--db", f"sqlite:///{in_tmp}/vtn.db", "--port", str(busy_port))
    assert f"cannot listen on 127.0.0.1:{busy_port}: the address is already in use" in line
    assert "--port" in line


def test_serve_port_out_of_range(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    line = fails(capsys, "serve", "--port", "99999")
    assert "port must be between 0 and 65535, not 99999" in line


def test_serve_port_out_of_range_from_the_environment(
    capsys: pytest.CaptureFixture[str], in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VTN_PORT", "70000")
    assert "port must be between 0 and 65535" in fails(capsys, "serve")


@needs_pg
def test_serve_on_a_postgresql_database_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    line = fails(capsys, "serve", "--db", f"{PG}/ec_no_such_db", "--port", "0")
    assert 'database "ec_no_such_db" does not exist on 127.0.0.1:5432' in line
    assert "createdb -h 127.0.0.1 -U postgres ec_no_such_db" in line


@needs_pg
def test_serve_as_a_postgresql_user_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    line = fails(capsys, "serve", "--db", "postgresql://ec_no_such_user@127.0.0.1:5432/test", "--port", "0")
    assert "has no user 'ec_no_such_user'" in line


def test_serve_on_an_unreachable_postgresql(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    line = fails(capsys, "serve", "--db", f"postgresql://postgres@127.0.0.1:{port}/x", "--port", "0")
    assert f"cannot reach the database server at 127.0.0.1:{port}" in line
    assert "is PostgreSQL running there?" in line


def test_serve_on_an_unknown_database_host(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    line = fails(capsys, "serve", "--db", "postgresql://postgres@no-such-host.invalid/x", "--port", "0")
    assert "cannot resolve the database host 'no-such-host.invalid'" in line


def test_not_a_database_url(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    assert "not a database URL: 'var/vtn.db'" in fails(capsys, "clients", "list", "--db", "var/vtn.db")
    for command in (("clients", "list"), ("serve",), ("db", "upgrade")):
        said = fails(capsys, *command, "--db", "mysql://user@host/db")
        assert "unsupported database URL 'mysql://user@host/db'" in said and "sqlite:///" in said


@needs_pg
def test_clients_list_on_a_missing_postgresql_database_does_not_advise_upgrade(
    capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    line = fails(capsys, "clients", "list", "--db", f"{PG}/ec_no_such_db")
    assert "does not exist" in line and "createdb" in line and "db upgrade" not in line


def test_clients_list_on_a_missing_sqlite_file_advises_an_upgrade_that_works(
    capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    url = "sqlite:///deep/er/vtn.db"
    line = fails(capsys, "clients", "list", "--db", url)
    assert f"create it with `vtn db upgrade --db {url}`" in line
    assert not (in_tmp / "deep").exists(), "a read command must not leave an empty database behind"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert main(["clients", "list", "--db", url]) == 0
    assert "no clients" in capsys.readouterr().out


def test_clients_list_on_a_database_without_the_schema(
    capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    import sqlite3

    sqlite3.connect(in_tmp / "empty.db").close()
    line = fails(capsys, "clients", "list", "--db", "sqlite:///empty.db")
    assert "has no VTN schema: run `vtn db upgrade --db sqlite:///empty.db`" in line


def test_db_upgrade_in_an_unwritable_place(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    (in_tmp / "file").write_text("")
    line = fails(capsys, "db", "upgrade", "--db", "sqlite:///file/vtn.db")
    assert "cannot create the folder of the SQLite database file/vtn.db" in line


def test_serve_with_tls_files_that_do_not_exist(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    line = fails(capsys, "serve", "--tls-cert", "nope.crt", "--tls-key", "nope.key", "--port", "0")
    assert "cannot set up TLS: tls cert_file: nope.crt is not a readable file" in line


def test_serve_with_a_tls_key_that_is_not_a_key(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    (in_tmp / "server.crt").write_text("not a certificate\n")
    (in_tmp / "server.key").write_text("not a key\n")
    line = fails(capsys, "serve", "--tls-cert", "server.crt", "--tls-key", "server.key", "--port", "0")
    assert line.startswith("vtn: error: cannot set up TLS:")


def test_serve_with_a_client_ca_but_no_certificate(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    line = fails(capsys, "serve", "--client-ca", "ca.crt", "--port", "0")
    assert "need HTTPS: set tls cert_file and key_file" in line


def test_serve_with_a_missing_config_file(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    assert "no configuration file nope.toml: fix --config" in fails(capsys, "serve", "--config", "nope.toml")


def test_serve_with_a_config_file_that_is_not_toml(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    (in_tmp / "vtn.toml").write_text("port = = 1\n")
    assert "bad configuration:" in fails(capsys, "serve", "--config", "vtn.toml")


def test_serve_with_an_unknown_log_level(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    assert "log_level 'loud' is not one of DEBUG" in fails(capsys, "serve", "--log-level", "loud")


def test_serve_with_a_bad_trusted_proxy(
    capsys: pytest.CaptureFixture[str], in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VTN_TRUSTED_PROXIES", "127.0.0.1,nginx.local")
    line = fails(capsys, "serve", "--port", "0")
    assert "trusted_proxies: 'nginx.local' is not an IP address or network" in line


def test_backup_of_a_postgresql_database_names_pg_dump(
    capsys: pytest.CaptureFixture[str], in_tmp: Path
) -> None:
    line = fails(capsys, "db", "backup", "--db", f"{PG}/test", "x.dump")
    assert "pg_dump -Fc -h 127.0.0.1 -U postgres -f test.dump test" in line


def test_restore_of_a_file_that_is_not_a_backup(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    (in_tmp / "junk.db").write_bytes(b"not sqlite at all" * 100)
    line = fails(capsys, "db", "restore", "--db", "sqlite:///vtn.db", "junk.db")
    assert "junk.db is not a VTN database" in line


# -- the installed script --------------------------------------------------------------------------


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*vtn_command(), *args], cwd=cwd, capture_output=True, text=True, env=env or lab_env(), timeout=60
    )


def test_script_prints_one_line_and_the_traceback_only_with_debug(tmp_path: Path) -> None:
    plain = _run("serve", "--port", "99999", cwd=tmp_path)
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    debug = _run("--debug", "serve", "--port", "99999", cwd=tmp_path)
    assert debug.returncode == 2 and "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1] == plain.stderr.strip()


def test_version(tmp_path: Path) -> None:
    done = _run("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("vtn (energy-coordination) ")
    assert done.stdout.split()[-1][0].isdigit()


def test_without_the_server_stack_the_cli_names_the_extra(tmp_path: Path) -> None:
    # What a gateway that installed only energy-coordination[ven] sees (the wheel test does it for real).
    code = (
        "import sys; sys.modules['sqlalchemy'] = None; from vtn.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "clients", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "vtn: error: the VTN server stack is not installed: pip install 'energy-coordination[vtn]' "
        "(this install has only the VEN)"
    )


# -- vtn ca finds the CA `make run` made -----------------------------------------------------------


def test_ca_commands_find_the_ca_of_make_run(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    assert main(["ca", "init", "--dir", "certs/dev"]) == 0  # what scripts/dev_certs.sh does
    capsys.readouterr()
    assert main(["ca", "list"]) == 0  # no --dir: certs/dev holds the CA
    assert "no certificates issued yet" in capsys.readouterr().out
    line = fails(capsys, "ca", "init")  # and no second CA in certs/ by accident
    assert "a CA already exists in certs/dev/" in line
    assert not (in_tmp / "certs" / "ca.crt").exists()


def test_ca_in_an_unwritable_place(capsys: pytest.CaptureFixture[str], in_tmp: Path) -> None:
    (in_tmp / "file").write_text("")
    line = fails(capsys, "ca", "init", "--dir", "file/ca")
    assert line.startswith("vtn: error: file/ca") or "file/ca" in line
