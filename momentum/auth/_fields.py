"""What an account may be called and protected with: one set of rules for every way in.

`POST /auth/register`, `POST /users/provision` and `momentum users create | set-password`
all pass through these functions, so a name the CLI accepts is one the API accepts, and the
other way round (docs/security.md, "Accounts").
"""

from __future__ import annotations

import re
import unicodedata

from ._errors import WeakPassword
from ._passwords import check_password_policy

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
USERNAME_RULE = "username: 3-32 ASCII letters, digits, '_', '.' or '-'"

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART = 64

#: Scripts with letters that pass for Latin ones (Cyrillic "a", Greek "o", U+0430, U+03BF…):
#: a label may use one of them, never two — "paypal" with a Cyrillic "a" is refused.
CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})

#: Passwords refused whatever their length: the most common ones of 8 characters or more.
BLOCKED_PASSWORDS = frozenset(
    {
        "00000000",
        "11111111",
        "12345678",
        "123456789",
        "1234567890",
        "87654321",
        "abc12345",
        "abcd1234",
        "abcdefgh",
        "admin123",
        "changeme",
        "iloveyou",
        "letmein1",
        "momentum",
        "passw0rd",
        "password",
        "password1",
        "password123",
        "qwerty123",
        "qwertyui",
        "qwertyuiop",
        "welcome1",
    }
)


class InvalidField(ValueError):
    """An email or username that breaks the rules; `field` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_username(value: str) -> str:
    """The username, surrounding whitespace removed; `InvalidField` unless it fits the rule."""
    username = value.strip()
    if not USERNAME_PATTERN.match(username):
        raise InvalidField("username", USERNAME_RULE)
    return username


def normalize_email(value: str) -> str:
    """The email as stored: trimmed, NFC, domain lowercased; `InvalidField` if unsafe.

    Refused: control and format characters (terminal escapes, NUL, zero-width and bidi
    marks), whitespace inside, anything but one `@` between a local part and a dotted
    domain, and a label mixing letters of two look-alike scripts.
    """
    email = unicodedata.normalize("NFC", value.strip())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in email):
        raise InvalidField("email", "email has a control or invisible character")
    if any(ch.isspace() for ch in email):
        raise InvalidField("email", "email has a space in it")
    local, at, domain = email.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or "@" in local
        or not 1 <= len(local) <= MAX_LOCAL_PART
        or len(labels) < 2
        or not all(labels)
        or len(email) > MAX_EMAIL_LENGTH
    ):
        raise InvalidField("email", "email is not a valid address")
    for part in (local, *labels):
        if _mixes_confusable_scripts(part):
            raise InvalidField("email", "email mixes look-alike letters of different scripts")
    return f"{local}@{domain.lower()}"


def check_password(password: str, *, username: str, email: str) -> None:
    """`WeakPassword` unless 8-256 characters, not a common password, and not the account's
    own username, email or email local part (compared case-insensitively)."""
    check_password_policy(password)
    folded = password.casefold()
    if folded in BLOCKED_PASSWORDS:
        raise WeakPassword("password is one of the most common passwords; choose another")
    own = {username.casefold(), email.casefold(), email.rpartition("@")[0].casefold()}
    if folded in own:
        raise WeakPassword("password must not be the username or the email")


def new_account(email: str, username: str, password: str) -> tuple[str, str, str]:
    """(email, username, password) as stored, after every check above, in the order a
    person fixes them: `InvalidField` for the email or username, else `WeakPassword`."""
    email = normalize_email(email)
    username = check_username(username)
    check_password(password, username=username, email=email)
    return email, username, password


def _mixes_confusable_scripts(text: str) -> bool:
    scripts = {_script(ch) for ch in text if ch.isalpha()}
    return len(scripts & CONFUSABLE_SCRIPTS) > 1


def _script(ch: str) -> str:
    # The first word of a letter's Unicode name is its script ("CYRILLIC SMALL LETTER A").
    return unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
