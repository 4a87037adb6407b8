"""The class space's rules, errors and records: limits, join codes, nicknames, challenges."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

import numpy as np

from model.challenges import CHALLENGE_TITLES, CLASS_ACCURACY
from model.config import TrainConfig
from model.epochs import EpochLog

# No 0/O and no 1/I/L: a code read off the board is typed right the first time.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6
MAX_STUDENTS = 200
MAX_DRAWINGS_PER_STUDENT = 50
# Live classes in the database: each one is cheap, but a script must not make millions.
MAX_CLASSES = 1000
SUBMISSIONS_PER_MINUTE = 10
NICKNAME_MAX = 24
CHALLENGES = CHALLENGE_TITLES
DEFAULT_CHALLENGE = CLASS_ACCURACY
MAX_TRAIN_LINK = 2000
NICKNAME_PUNCTUATION = frozenset(" -_")


class ClassError(ValueError):
    """Something a student or teacher asked for cannot be done; `str()` says why, for them."""


class UnknownClass(ClassError):
    pass


class JoiningClosed(ClassError):
    pass


class ClassFull(ClassError):
    pass


class NicknameInvalid(ClassError):
    pass


class NicknameTaken(ClassError):
    pass


class ClassLimitReached(ClassError):
    pass


class DrawingLimitReached(ClassError):
    pass


class SubmittingTooFast(ClassError):
    pass


class DuplicateDrawing(ClassError):
    pass


class TeacherKeyRefused(ClassError):
    pass


class NotInClass(ClassError):
    pass


TEACHER_KEY_MESSAGE = "This teacher link is not valid (the class may have been deleted)."
NOT_IN_CLASS_MESSAGE = "This lab is not in a class: join one with its code first."


@dataclass(frozen=True)
class ClassSpace:
    id: str
    join_code: str
    created_at: float
    touched_at: float
    joining_open: bool
    challenge: str
    train_link: str | None
    set_version: int


@dataclass(frozen=True)
class Member:
    lab_id: str
    class_id: str
    nickname: str
    share_runs: bool
    joined_at: float


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalize_join_code(text: str) -> str:
    """A typed join code in its stored form (" k7q-m2x " → "K7QM2X"); UnknownClass if it
    cannot be one."""
    if isinstance(text, str) and len(text) <= 4 * JOIN_CODE_LENGTH:
        code = "".join(text.upper().replace("-", " ").split())
        if len(code) == JOIN_CODE_LENGTH and all(char in JOIN_CODE_ALPHABET for char in code):
            return code
    raise UnknownClass(
        f"A join code is {JOIN_CODE_LENGTH} letters and digits, as your teacher shows it "
        "(e.g. K7QM2X)."
    )


def valid_nickname(text: str) -> str:
    """The nickname as stored: trimmed, single spaces; NicknameInvalid unless it is 1 to 24
    letters, digits, spaces, `-` and `_`."""
    rule = (
        f"A nickname is 1 to {NICKNAME_MAX} letters, digits, spaces, hyphens (-) or "
        "underscores (_)."
    )
    if not isinstance(text, str) or len(text) > 4 * NICKNAME_MAX:
        raise NicknameInvalid(rule)
    # Control and invisible characters (zero-width, direction marks) before the spaces are
    # collapsed: Python counts some control characters as whitespace.
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise NicknameInvalid(rule)
    # One form for "é" typed as one character or as e + accent, so both count as letters.
    nickname = " ".join(unicodedata.normalize("NFC", text).split())
    if not 1 <= len(nickname) <= NICKNAME_MAX or not all(
        char.isalnum() or char in NICKNAME_PUNCTUATION for char in nickname
    ):
        raise NicknameInvalid(rule)
    return nickname


def nickname_key(nickname: str) -> str:
    """What makes two nicknames the same in a class: case and spacing do not count."""
    return " ".join(nickname.casefold().split())


def valid_train_link(query: str | None) -> str | None:
    """A Train-page query string as stored (a leading "?" dropped); None for none."""
    if query is None:
        return None
    if not isinstance(query, str):
        raise ClassError("A Train link is a query string such as hide=dataset&units=25.")
    query = query.strip().removeprefix("?")
    if not query:
        return None
    if len(query) > MAX_TRAIN_LINK:
        raise ClassError(f"A Train link is at most {MAX_TRAIN_LINK} characters.")
    # The UI puts it after the Train page's own address: a scheme, a path or a space in it
    # would make it point elsewhere or break the link.
    if "://" in query or query.startswith("/") or "\\" in query:
        raise ClassError(
            "A Train link is only the part after the ? (e.g. hide=dataset&units=25), "
            "not a whole address."
        )
    if any(char.isspace() or not char.isprintable() for char in query):
        raise ClassError("A Train link has no spaces or control characters.")
    return query


@dataclass(frozen=True)
class ClassDrawing:
    id: int
    lab_id: str
    nickname: str
    label: int
    # The network's input: 20×20 float32 in [0, 1], white ink on black.
    pixels: np.ndarray
    status: str
    submitted_at: float


@dataclass(frozen=True)
class RosterEntry:
    lab_id: str
    nickname: str
    # From the student's latest run: "joined" (no run yet), "training" or "done".
    state: str
    # Epochs done by that run; None before the first run.
    epoch: int | None
    share_runs: bool


@dataclass(frozen=True)
class SharedRun:
    run_id: str
    lab_id: str
    nickname: str
    number: int
    config: TrainConfig
    status: str
    test_accuracy: float | None
    history: tuple[EpochLog, ...]
    updated_at: float
