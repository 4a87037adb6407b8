"""Lab ids and resume codes, and the rule that slows down whoever guesses codes."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

# 24 random bytes: 192 bits, written as 32 URL-safe characters.
LAB_ID_BYTES = 24
LAB_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
# Short, common words that read aloud without spelling: three of 255 and a number from
# 10 to 99 give about 1.5 billion codes. Guessing is made slow by `code_attempt_verdict`.
_WORD_TEXT = (
    "acorn amber anchor apple arrow aspen atlas autumn badge bamboo banjo barley basil beacon "
    "beaver berry birch bison blossom bluebell bonfire border breeze brick bridge brook bubble "
    "bucket cabin cactus camel candle canoe canyon carrot castle cedar cellar cherry chess "
    "chimney cinder citrus clover cobalt comet copper coral cotton coyote crane crayon cricket "
    "crystal cypress daisy delta desert dolphin dragon drum dune eagle echo ember falcon fern "
    "fiddle field flame flint forest fossil fox garden garnet geyser ginger glacier globe goose "
    "granite grape gravel harbor harvest hazel heron hickory hill honey horizon island ivory "
    "jade jasmine jelly jungle kayak kettle kite koala ladder lagoon lantern lava lemon "
    "lilac lily lime linen lobster lotus lynx magnet mango maple marble meadow melon meteor "
    "mint mirror moose moss mountain muffin nectar nest nickel noodle nutmeg oak oasis ocean "
    "olive onion orbit orchid otter owl oyster paddle panda papaya parrot pasta peach pebble "
    "pelican pepper piano pine planet plum pocket pony poppy potato prairie puffin pumpkin "
    "quartz quill rabbit radish rain raven reef ribbon river robin rocket rose ruby saddle "
    "saffron salmon sand sapphire scarf shell silver sky slate snow sparrow spruce squid star "
    "stone storm sugar summit sun swan tamarind teapot thistle thunder tiger timber toast topaz "
    "tulip tundra turnip valley velvet violet volcano walnut walrus wave whale willow window "
    "winter wolf wren yarrow yeti zebra zephyr zinnia acrobat almond badger beetle biscuit "
    "blanket butter cocoa cookie cupcake dove feather garlic gecko hammock igloo iris jaguar "
    "juniper lark llama marigold mocha nugget pancake pecan quokka sequoia sorrel tapir"
)
CODE_WORDS = tuple(_WORD_TEXT.split())
CODE_NUMBERS = range(10, 100)
CODE_PATTERN = re.compile(r"[a-z]+-[a-z]+-[a-z]+-[0-9]{2}")
MAX_CODE_LENGTH = 64
# Wrong codes from one address: typos are fine (a class behind one school address makes
# a few), then it must wait.
WRONG_CODES_ALLOWED = 10
WRONG_CODE_WINDOW_SECONDS = 600.0
# Each wrong code costs its sender this long before the answer, on top of the window's cap.
WRONG_CODE_DELAY_SECONDS = 1.0


def new_lab_id() -> str:
    return secrets.token_urlsafe(LAB_ID_BYTES)


def is_lab_id(text: str) -> bool:
    return bool(LAB_ID_PATTERN.fullmatch(text))


def new_code() -> str:
    words = [secrets.choice(CODE_WORDS) for _ in range(3)]
    return "-".join([*words, str(secrets.choice(CODE_NUMBERS))])


def normalise_code(text: str) -> str | None:
    """A typed code in its stored form ("Amber Otter river 42" → "amber-otter-river-42"), or None."""
    if len(text) > MAX_CODE_LENGTH:
        return None
    parts = re.split(r"[\s\-_.,]+", text.strip().lower())
    code = "-".join(part for part in parts if part)
    return code if CODE_PATTERN.fullmatch(code) else None


@dataclass(frozen=True)
class AttemptVerdict:
    allowed: bool
    # Seconds until the client may try again (0 when allowed).
    retry_after: float = 0.0


def code_attempt_verdict(wrong_attempt_times: Sequence[float], now: float) -> AttemptVerdict:
    """May a client with these recent wrong codes try one more? Pure: the caller passes `now`."""
    recent = sorted(at for at in wrong_attempt_times if now - at < WRONG_CODE_WINDOW_SECONDS)
    if len(recent) < WRONG_CODES_ALLOWED:
        return AttemptVerdict(True)
    oldest_counted = recent[-WRONG_CODES_ALLOWED]
    return AttemptVerdict(False, oldest_counted + WRONG_CODE_WINDOW_SECONDS - now)
