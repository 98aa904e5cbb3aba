"""The account rules (`momentum.auth._fields`): pure functions, no I/O, no clock."""

from __future__ import annotations

import pytest

from momentum.auth import (
    InvalidField,
    WeakPassword,
    check_password,
    check_username,
    new_account,
    normalize_email,
    provisioned_users,
)


def test_email_is_trimmed_nfc_and_its_domain_lowercased() -> None:
    assert normalize_email("  Alice@Example.COM ") == "Alice@example.com"
    decomposed = "Jose\u0301@example.com"  # "e" + combining acute accent
    assert normalize_email(decomposed) == "Jos\u00e9@example.com"


@pytest.mark.parametrize(
    "email",
    [
        "a\x00b@example.com",
        "a@ex\x1b[2J.com",  # a terminal escape
        "alice\u200b@example.com",  # zero-width space
        "alice@example.com\u202e",  # right-to-left override
        "al ice@example.com",
        "alice@localhost",
        "alice@example..com",
        "@example.com",
        "a@b@example.com",
        "alice",
        "x" * 65 + "@example.com",
        "alice@" + "d" * 250 + ".com",
        "p\u0430ypal@example.com",  # a Cyrillic "a" among Latin letters
        "alice@\u0440aypal.com",  # a Cyrillic "r" in a Latin domain label
        "alice@g\u03bfogle.com",  # a Greek omicron
    ],
)
def test_unsafe_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidField) as info:
        normalize_email(email)
    assert info.value.field == "email"


def test_one_script_per_label_is_fine() -> None:
    assert normalize_email("\u0438\u0432\u0430\u043d@example.com")  # all Cyrillic
    assert normalize_email("ren\u00e9e@\u00e9cole.fr")  # Latin with accents
    assert normalize_email("\u592a\u90ce@example.jp")  # Han


@pytest.mark.parametrize("name", ["ab", "a" * 33, "has space", "al\u00efce", "a/b", "x\x00yz"])
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(InvalidField) as info:
        check_username(name)
    assert info.value.field == "username"


def test_usernames_are_trimmed() -> None:
    assert check_username("  alice.b-c_9 ") == "alice.b-c_9"


@pytest.mark.parametrize(
    "password",
    ["short", "x" * 257, "12345678", "PASSWORD", "alice.smith", "Alice.Smith@Example.com", "ALICE"],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_password(password, username="alice", email="alice.smith@example.com")


def test_new_account_checks_email_then_username_then_password() -> None:
    assert new_account(" A@Example.com", " alice ", "correct-horse") == (
        "A@example.com",
        "alice",
        "correct-horse",
    )
    with pytest.raises(InvalidField, match="email"):
        new_account("bad", "x", "y")
    with pytest.raises(InvalidField, match="username"):
        new_account("a@example.com", "x", "y")


def test_provisioned_users_follow_the_same_rules() -> None:
    made = provisioned_users(3, "p" * 12)
    for user in made:
        assert check_username(user.username) == user.username
        assert normalize_email(user.email) == user.email
