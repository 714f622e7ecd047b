"""The default source: seeded synthetic posts calibrated on the real sample.

Reproducible: the same ``seed`` gives the same posts (one ``random.Random``
and one seeded Faker instance; Faker only fills word/name/text pools at start,
so generation stays fast). Distributions come from :mod:`emulator.calibration`
(measured by :mod:`emulator.calibrate`), per post:

* pin: category mix, media type mix, every placeholder at its real rate (the
  "broken scrape" that carries all of them at once, story-format posts,
  ``No description available``, no tags, ``Image src error.``), descriptions
  cut to 179 characters ending in ``…`` + NBSP, follower counts as ``"123"``,
  ``"45k"`` or ``"2M"``, ``downloaded`` = 0 exactly when the image is missing.
* user/geo belong to a *poster* (a user with a location) that recurs across
  posts like in the sample (~72% distinct per post, most posters once, a few
  stars with dozens of posts); the geo timestamp is per post.
* exact replays: with ``replay_rate`` a recent post is sent again unchanged
  (same key), like a producer retry.

What is not reproduced: in the sample the popular posters also have the
alphabetically first names and countries, the youngest ages and earliest join
dates (its generator sorted its columns). Here each poster's attributes are
drawn independently from the per-post marginals, so the per-post
distributions match but that cross-column correlation does not.
"""

from __future__ import annotations

import random
import uuid
from bisect import bisect
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from faker import Faker
from faker.providers.address.en_US import Provider as AddressProvider
from faker.providers.lorem.en_US import Provider as LoremProvider
from faker.providers.person.en_US import Provider as PersonProvider

from pinterest_pipeline.contract import (
    CATEGORIES,
    IMAGE_OR_VIDEO,
    PIN_PLACEHOLDERS,
    RAW_FIELDS,
    SAVE_LOCATION_PREFIX,
    TIMESTAMP_FORMATS,
)

from .. import calibration as cal
from ..model import Post

IMAGE, VIDEO, STORY = IMAGE_OR_VIDEO
NO_TITLE = PIN_PLACEHOLDERS["title"][0]
NO_DESC_STORY, NO_DESC, UNTITLED = PIN_PLACEHOLDERS["description"]
USER_INFO_ERROR = PIN_PLACEHOLDERS["poster_name"][0]
NO_TAGS = PIN_PLACEHOLDERS["tag_list"][0]
IMAGE_SRC_ERROR = PIN_PLACEHOLDERS["image_src"][0]
TRUNCATION = "\u2026\u00a0"  # '…' + NBSP
TRUNCATED_BODY = max(cal.TRUNCATED_DESCRIPTION_LENGTHS, key=cal.TRUNCATED_DESCRIPTION_LENGTHS.get) - len(TRUNCATION)

# --- model parameters (not measured directly) --------------------------------
#: Posters: a post goes to one of STAR_POSTERS fixed "stars" (Zipf weights
#: 1/rank) with STAR_SHARE, else to a new poster with NEW_POSTER_RATE, else to
#: an earlier poster picked in proportion to its posts so far. Chosen by
#: simulation to match ENTITY_DISTINCT_RATIO (0.72), ENTITY_SINGLETON_SHARE
#: (0.85), ENTITY_TOP_COUNTS and ENTITY_GE10_POST_SHARE (0.11) of the sample
#: at 1,899 posts; the ratios stay about the same for longer streams.
STAR_POSTERS = 40
STAR_SHARE = 0.10
NEW_POSTER_RATE = 0.80
#: Default share of posts that are an exact replay of a recent post.
DEFAULT_REPLAY_RATE = 0.01
REPLAY_WINDOW = 100
#: Shapes the contract allows but the sample never shows (description
#: ``Untitled``, follower counts like ``"1.5k"``, ISO ``T`` timestamps): each
#: appears at this small rate so that the cleaning rules get exercised.
CONTRACT_ONLY_RATE = 0.001
POOL_SIZE = 2000


class Weighted:
    """Fast weighted choice with precomputed cumulative weights."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, items: Sequence[Any], weights: Sequence[float]):
        pairs = [(i, w) for i, w in zip(items, weights) if w > 0]
        self.items = [i for i, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    @classmethod
    def of(cls, mapping: dict[Any, float]) -> Weighted:
        return cls(list(mapping), list(mapping.values()))

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.total)]


def from_knots(knots: Sequence[float], u: float) -> float:
    """Piecewise-linear inverse CDF through equally spaced quantile knots."""
    x = u * (len(knots) - 1)
    i = min(int(x), len(knots) - 2)
    return knots[i] + (knots[i + 1] - knots[i]) * (x - i)


def letter_weighted(names: dict[str, float] | Sequence[str], letter_weights: dict[str, int]) -> Weighted:
    """Faker's list re-weighted so that first letters follow the sample's mix."""
    freq = dict(names) if isinstance(names, dict) else {n: 1.0 for n in names}
    per_letter: dict[str, float] = {}
    for name, f in freq.items():
        per_letter[name[0].upper()] = per_letter.get(name[0].upper(), 0.0) + f
    items = sorted(freq)
    return Weighted(items, [letter_weights.get(n[0].upper(), 0) * freq[n] / per_letter[n[0].upper()] for n in items])


def _stamp(epoch: float, fmt: str = TIMESTAMP_FORMATS[0]) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime(fmt)


class SyntheticSource:
    """Iterable of calibrated synthetic posts; see the module docstring."""

    def __init__(self, seed: int = 42, *, start_key: int = 1, replay_rate: float = DEFAULT_REPLAY_RATE):
        if not 0.0 <= replay_rate < 1.0:
            raise ValueError(f"replay_rate must be in [0, 1), got {replay_rate}")
        self.seed = seed
        self.start_key = start_key
        self.replay_rate = replay_rate

    # -- pools, built once per iteration from the seeded Faker -----------------
    def _build(self, rng: random.Random) -> None:
        fake = Faker("en_US")
        fake.seed_instance(self.seed)
        words = list(LoremProvider.word_list)
        self.words = words
        self.paragraphs = [" ".join(fake.paragraph(nb_sentences=8) for _ in range(2)) for _ in range(POOL_SIZE // 4)]
        tag_words = Weighted.of(cal.TAG_WORD_WEIGHTS)
        self.tags = [" ".join(rng.choices(words, k=tag_words.pick(rng))).title() for _ in range(POOL_SIZE)]
        self.tags += self.tags[: max(cal.TAG_COUNT_WEIGHTS)]  # wrap-around: a window never runs short
        makers = (fake.company, fake.name, lambda: " ".join(rng.choices(words, k=rng.randint(1, 4))).title())
        self.poster_names = [makers[i % 3]() for i in range(POOL_SIZE)]
        self.first_names = letter_weighted(PersonProvider.first_names, cal.FIRST_NAME_LETTER_WEIGHTS)
        self.last_names = letter_weighted(PersonProvider.last_names, cal.LAST_NAME_LETTER_WEIGHTS)
        self.countries = letter_weighted(AddressProvider.countries, cal.COUNTRY_LETTER_WEIGHTS)
        self.categories = Weighted.of({c: cal.CATEGORY_WEIGHTS[c] for c in CATEGORIES})
        self.media = Weighted.of(cal.MEDIA_WEIGHTS)
        self.title_words = Weighted.of(cal.TITLE_WORD_WEIGHTS)
        self.tag_counts = Weighted.of(cal.TAG_COUNT_WEIGHTS)
        self.ages = Weighted.of(cal.AGE_WEIGHTS)
        self.follower_formats = Weighted.of(cal.FOLLOWER_FORMAT_WEIGHTS)
        self.follower_m = Weighted.of(cal.FOLLOWER_M_WEIGHTS)
        shapes = {s: w for s, w in cal.IMAGE_SRC_SHAPES.items() if "<md5>" in s}
        self.image_urls = Weighted.of({s: w for s, w in shapes.items() if "/videos/" not in s})
        self.video_urls = Weighted.of({s: w for s, w in shapes.items() if "/videos/" in s})

    # -- one poster: a user with a location ----------------------------------------
    def _poster(self, rng: random.Random) -> tuple[str, str, dict[str, Any], tuple[float, float, str]]:
        fmt = self.follower_formats.pick(rng)
        if fmt == "plain":
            followers = str(round(from_knots(cal.FOLLOWER_PLAIN_QUANTILES, rng.random())))
        elif fmt == "k":
            if rng.random() < CONTRACT_ONLY_RATE:
                followers = f"{rng.randint(1, 9)}.{rng.randint(1, 9)}k"
            else:
                followers = f"{round(from_knots(cal.FOLLOWER_K_QUANTILES, rng.random()))}k"
        else:
            followers = f"{self.follower_m.pick(rng)}M"
        joined_fmt = TIMESTAMP_FORMATS[1] if rng.random() < CONTRACT_ONLY_RATE else TIMESTAMP_FORMATS[0]
        user = {
            "first_name": self.first_names.pick(rng),
            "last_name": self.last_names.pick(rng),
            "age": self.ages.pick(rng),
            "date_joined": _stamp(from_knots(cal.DATE_JOINED_QUANTILES, rng.random()), joined_fmt),
        }
        place = (
            round(from_knots(cal.LATITUDE_QUANTILES, rng.random()), cal.COORDINATE_DECIMALS),
            round(from_knots(cal.LONGITUDE_QUANTILES, rng.random()), cal.COORDINATE_DECIMALS),
            self.countries.pick(rng),
        )
        return rng.choice(self.poster_names), followers, user, place

    # -- text ------------------------------------------------------------------------
    def _title(self, rng: random.Random) -> str:
        title = " ".join(rng.choices(self.words, k=self.title_words.pick(rng)))
        return title.title() if rng.random() < 0.6 else title.capitalize()

    def _description(self, rng: random.Random) -> str:
        text = rng.choice(self.paragraphs)
        if rng.random() < cal.TRUNCATED_DESCRIPTION_RATE:
            return text[:TRUNCATED_BODY].rstrip() + TRUNCATION
        length = max(1, round(from_knots(cal.DESCRIPTION_LENGTH_QUANTILES, rng.random())))
        cut = text[:length]
        if length < len(text) and text[length] != " " and " " in cut:
            cut = cut[: cut.rindex(" ")]
        return cut.rstrip(" ,;")

    def _image(self, rng: random.Random, urls: Weighted) -> str:
        h = f"{rng.getrandbits(128):032x}"
        return urls.pick(rng).replace("<h2>/<h2>/<h2>/<md5>", f"{h[:2]}/{h[2:4]}/{h[4:6]}/{h}")

    def _pin(self, rng: random.Random, key: int, poster: str, followers: str) -> dict[str, Any]:
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        category = self.categories.pick(rng)
        if rng.random() < cal.BROKEN_SCRAPE_RATE:
            values = (key, uid, NO_TITLE, NO_DESC_STORY, USER_INFO_ERROR, USER_INFO_ERROR, NO_TAGS,
                      STORY, IMAGE_SRC_ERROR, 0)
        else:
            media = self.media.pick(rng)
            if media == STORY:
                description = NO_DESC_STORY if rng.random() < cal.STORY_DESCRIPTION_RATE else self._description(rng)
                image = IMAGE_SRC_ERROR if rng.random() < cal.STORY_IMAGE_ERROR_RATE else self._image(rng, self.video_urls)
            else:
                r = rng.random()
                if r < cal.NO_DESCRIPTION_RATE:
                    description = NO_DESC
                elif r < cal.NO_DESCRIPTION_RATE + CONTRACT_ONLY_RATE:
                    description = UNTITLED
                else:
                    description = self._description(rng)
                image = self._image(rng, self.video_urls if media == VIDEO else self.image_urls)
            if rng.random() < cal.NO_TAGS_RATE:
                tags = NO_TAGS
            else:
                start = int(rng.random() * POOL_SIZE)  # a window of the pool: fast, no repeats
                tags = ",".join(self.tags[start : start + self.tag_counts.pick(rng)])
            values = (key, uid, self._title(rng), description, poster, followers, tags, media, image,
                      0 if image == IMAGE_SRC_ERROR else 1)
        return dict(zip(RAW_FIELDS["pin"], (*values, f"{SAVE_LOCATION_PREFIX}/data/{category}", category)))

    def __iter__(self) -> Iterator[Post]:
        rng = random.Random(self.seed)
        self._build(rng)
        stars = [self._poster(rng) for _ in range(STAR_POSTERS)]
        star_pick = Weighted(range(STAR_POSTERS), [1 / (r + 1) for r in range(STAR_POSTERS)])
        posters: list[tuple] = []  # one entry per non-star post: preferential re-use
        recent: deque[Post] = deque(maxlen=REPLAY_WINDOW)
        geo_from, geo_to = cal.GEO_TIMESTAMP_RANGE
        geo_f, user_f = RAW_FIELDS["geo"], RAW_FIELDS["user"]
        key = self.start_key
        while True:
            if recent and rng.random() < self.replay_rate:
                yield rng.choice(recent)
                continue
            r = rng.random()
            if r < STAR_SHARE:
                poster = stars[star_pick.pick(rng)]
            else:
                if not posters or rng.random() < NEW_POSTER_RATE:
                    poster = self._poster(rng)
                else:
                    poster = rng.choice(posters)
                posters.append(poster)
            name, followers, user, (lat, lon, country) = poster
            ts_fmt = TIMESTAMP_FORMATS[1] if rng.random() < CONTRACT_ONLY_RATE else TIMESTAMP_FORMATS[0]
            geo = dict(zip(geo_f, (key, _stamp(rng.uniform(geo_from, geo_to), ts_fmt), lat, lon, country)))
            user_rec = dict(zip(user_f, (key, user["first_name"], user["last_name"], user["age"], user["date_joined"])))
            post = Post(key=key, pin=self._pin(rng, key, name, followers), geo=geo, user=user_rec)
            recent.append(post)
            yield post
            key += 1
