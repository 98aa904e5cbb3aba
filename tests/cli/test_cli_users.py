"""`momentum users …`: every action, its output and its exit code, on a real SQLite file.

Rules: `main()` runs in-process, as the console script would (its own `trio.run`); output is
read with capsys; no action may end in a traceback. The tests against a running server use a
real server on port 0 sharing the SQLite file, and run the CLI in a thread (it opens its own
Trio loop), real clock, under `trio.fail_after`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from momentum.cli import main
from tests.server._live import SECRET, LiveServer, expect_refused

PASSWORD = "a-long-passphrase"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.delenv("MOMENTUM_PASSWORD", raising=False)
    return f"sqlite:///{tmp_path}/momentum.db"


def users(db: str, *args: str) -> int:
    return main(["users", *args, "--database-url", db])


def create(db: str, name: str = "alice", password: str = PASSWORD) -> int:
    email = f"{name}@example.com"
    return users(db, "create", "--username", name, "--email", email, "--password", password)


def test_create_refuses_a_short_password_in_one_line(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create(db, password="short") == 3
    err = capsys.readouterr().err
    assert err == "momentum users: password must be 8 to 256 characters long\n"


@pytest.mark.parametrize(
    ("name", "password", "says"),
    [
        ("alice", "12345678", "most common passwords"),
        ("alice", "PassWord", "most common passwords"),
        ("alice", "ALICE-not", None),
        ("bobby.bob", "Bobby.Bob", "must not be the username"),
        ("has space", PASSWORD, "username: 3-32"),
        ("ab", PASSWORD, "username: 3-32"),
    ],
)
def test_create_applies_the_account_rules(
    db: str, capsys: pytest.CaptureFixture[str], name: str, password: str, says: str | None
) -> None:
    email = f"{name}@example.com" if " " not in name else "spaced@example.com"
    code = users(db, "create", "--username", name, "--email", email, "--password", password)
    err = capsys.readouterr().err
    if says is None:
        assert code == 0, err
    else:
        assert code == 3 and says in err and err.count("\n") == 1, err


def test_a_taken_name_is_reported_as_taken(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert create(db) == 0
    email = "other@example.com"
    args = ("create", "--username", "ALICE", "--email", email, "--password", PASSWORD)
    assert users(db, *args) == 3
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == "momentum users: username is already taken"


def test_list_show_disable_enable_delete(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert create(db, "bob") == 0
    assert create(db, "alice") == 0
    capsys.readouterr()
    assert users(db, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["id", "username", "email", "active", "admin", "created_at"]
    assert [line.split("\t")[1] for line in lines[1:]] == ["alice", "bob"]
    alice_id = lines[1].split("\t")[0]

    assert users(db, "disable", "alice@example.com") == 0
    assert users(db, "show", alice_id) == 0
    shown = capsys.readouterr().out
    assert "disabled" in shown and "active: no" in shown and "username: alice" in shown
    assert users(db, "enable", "Alice") == 0
    assert users(db, "show", "alice") == 0
    assert "active: yes" in capsys.readouterr().out

    assert users(db, "delete", "alice") == 2
    assert "add --yes" in capsys.readouterr().err
    assert users(db, "delete", "alice", "--yes") == 0
    for action in ("show", "disable", "enable", "delete"):
        assert users(db, action, "alice", *(["--yes"] if action == "delete" else [])) == 1
    assert capsys.readouterr().err.count("momentum users: no such user: alice\n") == 4


def test_set_password_checks_the_rules_then_changes_it(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert create(db) == 0
    assert users(db, "set-password", "alice", "--password", "alice") == 3
    assert users(db, "set-password", "alice", "--password", "alice@example.com") == 3
    monkeypatch.setenv("MOMENTUM_PASSWORD", "another-passphrase")
    assert users(db, "set-password", "alice") == 0
    assert users(db, "set-password", "nobody") == 1
    assert "alice: password changed" in capsys.readouterr().out


def test_an_unreachable_database_is_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JWT_SECRET", SECRET)
    (tmp_path / "dir.db").mkdir()
    assert users(f"sqlite:///{tmp_path}/dir.db", "list") == 4
    err = capsys.readouterr().err
    assert err.startswith("momentum users: database unavailable:") and err.count("\n") == 1


async def test_a_running_server_sees_cli_changes(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created with the CLI, the user logs in; disabled with the CLI, its next connection is
    refused (403); its password set with the CLI, only the new one logs in."""
    monkeypatch.setenv("JWT_SECRET", SECRET)
    db = f"sqlite:///{tmp_path}/momentum.db"
    with trio.fail_after(30):
        assert await trio.to_thread.run_sync(create, db) == 0
        async with server.http() as http:
            login = await http.post("/auth/login", json={"username": "alice", "password": PASSWORD})
            assert login.status_code == 200, login.text
            token = login.json()["token"]
            assert await trio.to_thread.run_sync(users, db, "disable", "alice") == 0
            refusal = await expect_refused(server.ws_url(token))
            assert (refusal.status, refusal.code) == (403, "user_disabled")
            assert await trio.to_thread.run_sync(users, db, "enable", "alice") == 0
            async with server.connect(token=token) as client:
                await client.roundtrip()
            new = ("set-password", "alice", "--password", "brand-new-passphrase")
            assert await trio.to_thread.run_sync(users, db, *new) == 0
            old = {"username": "alice", "password": PASSWORD}
            assert (await http.post("/auth/login", json=old)).status_code == 401
            fresh = {"username": "alice", "password": "brand-new-passphrase"}
            assert (await http.post("/auth/login", json=fresh)).status_code == 200
