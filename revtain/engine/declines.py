"""The decline catalogue: what a decline code means and how the engine handles it (contract 3.12, 4.4, 6, 13).

One versioned data file, ``data/declines.json``, holds all of it (no if-chains):

* ``codes``: the canonical codes. Each has a ``category`` (soft, hard, fraud, technical, auth_required,
  unknown), a ``handling`` (``attempt``: charge now; ``queue``: answer 202 and retry at a smart time;
  ``block``: never retry, on any card or gateway), an ``action`` (the ``recommendedAction``), a ``family``
  (e.g. ``funds`` for insufficient_funds and kin), a ``plainEnglish`` text and optionally a
  ``queuedMessage`` and a ``reason`` that replaces the action's text.
* ``gateways``: per gateway, the raw codes it reports mapped to a canonical code, with the gateway's own text.
  ``network`` holds the ISO 8583 response codes (Visa / Mastercard); a gateway may ``inherit`` another's
  table. Gateways without a table resolve canonical names only.
* ``advice``: Mastercard Merchant Advice Codes and Stripe's ``advice_code``, a table of their own.

:func:`classify` answers for one code as a merchant reports it; :func:`classify_result` for what a gateway
adapter returned (decline, network and advice code together); :func:`lookup` for one gateway's raw code.
Pure: no Flask, no I/O beyond reading the packaged data file once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, NamedTuple

Handling = Literal["attempt", "queue", "block"]
Match = Literal["table", "prefix", "canonical", "text", "unknown"]

CATEGORIES = ("soft", "hard", "fraud", "technical", "auth_required", "unknown")
HANDLINGS = ("attempt", "queue", "block")
DEFAULT_QUEUED_MESSAGE = "Queued for smart-time retry."
UNKNOWN = "unknown"
NETWORK = "network"
# Raw codes that name their source without a gateway: Stripe's words, Braintree's 2000-3000 and
# gateway_rejected:<reason>, Checkout.com's five-character codes. classify() resolves them for a merchant's
# originalDeclineCode and the adapters' decline codes. ISO, Adyen and Authorize.net codes are short numbers
# that collide with each other, so they are only resolved with their gateway named (lookup / classify_result).
SELF_IDENTIFYING_SOURCES = ("stripe", "braintree", "checkout")
# Families that say nothing specific: a network code with a specific meaning wins over them.
GENERIC_FAMILIES = frozenset({"generic", "unknown"})


@dataclass(frozen=True)
class Decline:
    code: str | None  # canonical code; an unrecognised code as given (normalised); None when none was given
    category: str  # soft | hard | fraud | technical | auth_required | unknown
    handling: Handling
    recommended_action: str  # request_card_update | retry_later | manual_review | monitor
    reason: str  # readable explanation of recommended_action
    plain_english: str
    queued_message: str = DEFAULT_QUEUED_MESSAGE
    family: str = UNKNOWN
    raw_code: str | None = None  # the code as given, normalised (a gateway's raw code, e.g. "2001")
    # What forced handling "block" over the decline code's own entry, e.g. "visa_category_1:41",
    # "network_code:59", "advice_code:03"; None when nothing did.
    override: str | None = None


@dataclass(frozen=True)
class CatalogueEntry:
    gateway: str  # the gateway asked about (normalised; "iso" is "network")
    gateway_label: str
    raw_code: str  # the table's key when the table knew it, else the code as given (trimmed)
    canonical_code: str  # "unknown" when unrecognised
    category: str
    handling: Handling
    recommended_action: str
    reason: str
    plain_english: str
    family: str
    description: str | None = None  # the gateway's own text for the raw code
    match: Match = "table"  # how the code was resolved
    queued_message: str = DEFAULT_QUEUED_MESSAGE

    @property
    def known(self) -> bool:
        return self.match != "unknown"

    @property
    def never_retry(self) -> bool:
        return self.handling == "block"


class Variant(NamedTuple):
    gateway: str
    gateway_label: str
    raw_code: str


@dataclass(frozen=True)
class AdviceEntry:
    source: str  # mastercard | stripe
    source_label: str
    code: str
    description: str
    canonical_code: str
    never_retry: bool
    retry_after_hours: float | None = None


# -- the data file --------------------------------------------------------------------------------------


MAX_CODE_LENGTH = 64  # the width of every decline-code column


def normalise(code: str | None) -> str | None:
    """A canonical (or unknown) code: trimmed and lower case, at most 64 characters (lower-casing
    can lengthen a string: 'İ' becomes two characters); None for nothing."""
    if code is None:
        return None
    code = code.strip().lower()[:MAX_CODE_LENGTH]
    return code or None


def _iso(code: str) -> str:
    code = code.strip().upper()
    return "0" + code if code.isdigit() and len(code) == 1 else code


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "lower": lambda code: code.strip().lower(),
    "upper": lambda code: code.strip().upper(),
    "iso": _iso,
}
_DASHES = re.compile(r"[\u2010-\u2015]")
_SPACES = re.compile(r"\s+")


def _text_key(text: str) -> str:
    return _SPACES.sub(" ", _DASHES.sub("-", text)).strip().lower()


@cache
def _catalogue() -> dict:
    return json.loads(resources.files(__package__).joinpath("data/declines.json").read_text())


class _Index:
    """The data file, checked once and indexed for lookups."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.codes: dict[str, dict] = data["codes"]
        self.actions: dict[str, str] = data["actions"]
        self.gateways: dict[str, dict] = data["gateways"]
        self.aliases = {alias: name for name, g in self.gateways.items() for alias in g.get("aliases", ())}
        for name in ("unknown", "none"):
            self._check_code(name, data[name])
        for name, entry in self.codes.items():
            self._check_code(name, entry)
        self.tables: dict[str, dict[str, dict]] = {}
        self.texts: dict[str, dict[str, str]] = {}
        for name, gateway in self.gateways.items():
            if gateway.get("normalise", "lower") not in _NORMALISERS:
                raise ValueError(f"declines.json: gateway {name}: unknown normaliser")
            inherited = gateway.get("inherits")
            if inherited is not None and inherited not in self.gateways:
                raise ValueError(f"declines.json: gateway {name} inherits an unknown gateway")
            table = gateway.get("codes", {})
            for raw, entry in table.items():
                self._check_canonical(f"{name}/{raw}", entry["canonical"])
            for prefix, canonical in gateway.get("prefixes", {}).items():
                self._check_canonical(f"{name}/{prefix}*", canonical)
            self.tables[name] = table
            texts: dict[str, str | None] = {}
            for raw, entry in table.items():
                key = _text_key(entry.get("text", ""))
                texts[key] = None if key in texts else raw  # a text shared by two codes names neither
            self.texts[name] = {k: v for k, v in texts.items() if k and v is not None}
        self.advice: dict[str, AdviceEntry] = {}
        for source, table in data["advice"].items():
            for code, entry in table["codes"].items():
                self._check_canonical(f"advice {source}/{code}", entry["canonical"])
                self.advice[code] = AdviceEntry(
                    source=source,
                    source_label=table["label"],
                    code=code,
                    description=entry["text"],
                    canonical_code=entry["canonical"],
                    never_retry=bool(entry.get("neverRetry", False)),
                    retry_after_hours=entry.get("retryAfterHours"),
                )
        # canonical -> the raw codes that map to it, over the gateways' own tables
        self.variants: dict[str, list[Variant]] = {}
        for name, table in self.tables.items():
            for raw, entry in table.items():
                self.variants.setdefault(entry["canonical"], []).append(
                    Variant(name, self.gateways[name]["label"], raw)
                )
        # raw code -> canonical, for classify(): self-identifying sources, unambiguous codes only
        resolved: dict[str, str | None] = {}
        for name in SELF_IDENTIFYING_SOURCES:
            for raw, entry in self.tables[name].items():
                key = normalise(raw) or ""
                if key in self.codes:
                    continue
                seen = resolved.get(key, entry["canonical"])
                resolved[key] = entry["canonical"] if seen == entry["canonical"] else None
        self.self_identifying = {k: v for k, v in resolved.items() if v is not None}
        self.self_identifying_prefixes = [
            (prefix.lower(), canonical)
            for name in SELF_IDENTIFYING_SOURCES
            for prefix, canonical in self.gateways[name].get("prefixes", {}).items()
        ]

    def _check_code(self, name: str, entry: Mapping[str, Any]) -> None:
        if entry.get("category") not in CATEGORIES:
            raise ValueError(f"declines.json: {name}: bad category {entry.get('category')!r}")
        if entry.get("handling") not in HANDLINGS:
            raise ValueError(f"declines.json: {name}: bad handling {entry.get('handling')!r}")
        if entry.get("action") not in self.actions:
            raise ValueError(f"declines.json: {name}: unknown action {entry.get('action')!r}")
        if entry.get("family") not in self.data["families"]:
            raise ValueError(f"declines.json: {name}: unknown family {entry.get('family')!r}")
        if not entry.get("plainEnglish"):
            raise ValueError(f"declines.json: {name}: plainEnglish is required")

    def _check_canonical(self, where: str, canonical: str) -> None:
        if canonical not in self.codes:
            raise ValueError(f"declines.json: {where} maps to unknown canonical code {canonical!r}")

    def gateway_name(self, gateway: str | None) -> str:
        name = (gateway or "").strip().lower()
        return self.aliases.get(name, name)

    def label(self, name: str) -> str:
        gateway = self.gateways.get(name)
        return gateway["label"] if gateway else name

    def chain(self, name: str) -> list[str]:
        """The gateway and those it inherits from (no cycles)."""
        chain: list[str] = []
        while name in self.gateways and name not in chain:
            chain.append(name)
            name = self.gateways[name].get("inherits")
        return chain

    def raw_key(self, name: str, code: str) -> str:
        return _NORMALISERS[self.gateways[name].get("normalise", "lower")](code)

    def reason(self, entry: Mapping[str, Any]) -> str:
        return entry.get("reason") or self.actions[entry["action"]]


@cache
def _index() -> _Index:
    return _Index(_catalogue())


# -- answers ------------------------------------------------------------------------------------------


def version() -> int:
    """The catalogue's version (bumped with every change to the data file)."""
    return int(_catalogue()["version"])


def action_reason(action: str) -> str:
    return _catalogue()["actions"][action]


def gateways() -> dict[str, str]:
    """The gateways the lookup answers for (name -> label), ``network`` (ISO 8583 codes) included."""
    return {name: g["label"] for name, g in _index().gateways.items() if g.get("public", True)}


def canonical_codes() -> tuple[str, ...]:
    return tuple(_index().codes)


def _entry(
    gateway: str, raw: str, canonical: str | None, match: Match, description: str | None = None
) -> CatalogueEntry:
    index = _index()
    data = index.codes[canonical] if canonical is not None else index.data["unknown"]
    return CatalogueEntry(
        gateway=gateway,
        gateway_label=index.label(gateway),
        raw_code=raw,
        canonical_code=canonical or UNKNOWN,
        category=data["category"],
        handling=data["handling"],
        recommended_action=data["action"],
        reason=index.reason(data),
        plain_english=data["plainEnglish"],
        family=data["family"],
        description=description,
        match=match,
        queued_message=data.get("queuedMessage", DEFAULT_QUEUED_MESSAGE),
    )


def lookup(gateway: str, raw_code: str | None) -> CatalogueEntry:
    """What ``raw_code`` means on ``gateway`` (stripe, braintree, adyen, checkout, authnet, dlocal, worldpay,
    razorpay, paystack, or "network"/"iso" for ISO 8583 response codes).

    The gateway's table first (and the tables it inherits), then its prefixes, then a canonical code name,
    then the gateway's own text for a code (e.g. Adyen's "Not enough balance"); otherwise canonical code
    "unknown". A gateway without a table, or one not in the catalogue, resolves canonical names only.
    """
    index = _index()
    name = index.gateway_name(gateway)
    given = (raw_code or "").strip()
    chain = index.chain(name)
    if given:
        for source in chain:
            key = index.raw_key(source, given)
            hit = index.tables[source].get(key)
            if hit is not None:
                return _entry(name, key, hit["canonical"], "table", hit.get("text"))
        for source in chain:
            key = index.raw_key(source, given)
            for prefix, canonical in index.gateways[source].get("prefixes", {}).items():
                if key.startswith(prefix):
                    return _entry(name, key, canonical, "prefix")
        canonical = normalise(given)
        if canonical in index.codes:
            return _entry(name, canonical, canonical, "canonical")
        text = _text_key(given)
        for source in chain:
            raw = index.texts[source].get(text)
            if raw is not None:
                hit = index.tables[source][raw]
                return _entry(name, raw, hit["canonical"], "text", hit.get("text"))
    return _entry(name, given, None, "unknown")


def all_entries(gateway: str | None = None) -> tuple[CatalogueEntry, ...]:
    """The dictionary: every raw code of every gateway's table (in the data file's order), or of one gateway
    (a gateway that inherits a table lists the inherited codes under its own name)."""
    index = _index()
    if gateway is None:
        names = [name for name, g in index.gateways.items() if g.get("public", True)]
        return tuple(
            _entry(name, raw, hit["canonical"], "table", hit.get("text"))
            for name in names
            for raw, hit in index.tables[name].items()
        )
    name = index.gateway_name(gateway)
    seen: set[str] = set()
    entries = []
    for source in index.chain(name):
        for raw, hit in index.tables[source].items():
            if raw not in seen:
                seen.add(raw)
                entries.append(_entry(name, raw, hit["canonical"], "table", hit.get("text")))
    return tuple(entries)


def variants(canonical: str, exclude_gateway: str | None = None) -> tuple[Variant, ...]:
    """The raw codes, on every gateway's table, that map to ``canonical``; without ``exclude_gateway``'s."""
    index = _index()
    excluded = index.gateway_name(exclude_gateway) if exclude_gateway else None
    return tuple(v for v in index.variants.get(normalise(canonical) or "", ()) if v.gateway != excluded)


def advice(code: str | None) -> AdviceEntry | None:
    """A Mastercard Merchant Advice Code ("1" and "01" alike) or a Stripe ``advice_code``; None if unknown."""
    if code is None:
        return None
    key = code.strip().lower()
    if key.isdigit() and len(key) == 1:
        key = "0" + key
    return _index().advice.get(key) if key else None


def advice_entries() -> tuple[AdviceEntry, ...]:
    return tuple(_index().advice.values())


def _decline(entry: CatalogueEntry, raw: str | None, override: str | None = None) -> Decline:
    return Decline(
        code=entry.canonical_code if entry.known else raw,
        category=entry.category,
        handling=entry.handling,
        recommended_action=entry.recommended_action,
        reason=entry.reason,
        plain_english=entry.plain_english,
        queued_message=entry.queued_message,
        family=entry.family,
        raw_code=raw,
        override=override,
    )


def _none() -> Decline:
    index = _index()
    entry = index.data["none"]
    return Decline(
        code=None,
        category=entry["category"],
        handling=entry["handling"],
        recommended_action=entry["action"],
        reason=index.reason(entry),
        plain_english=entry["plainEnglish"],
        queued_message=entry.get("queuedMessage", DEFAULT_QUEUED_MESSAGE),
        family=entry["family"],
    )


def classify(code: str | None) -> Decline:
    """One decline code as a merchant (or an adapter) reports it, without its gateway.

    A canonical code is itself. A raw code that names its gateway (Stripe's words, Braintree's numbers and
    ``gateway_rejected:<reason>``, Checkout.com's codes) resolves to its canonical code; ``Decline.code`` is
    then the canonical code and ``raw_code`` the code as given. Anything else is "unknown" and keeps its own
    (normalised) code. None or blank is a generic attempt.
    """
    given = normalise(code)
    if given is None:
        return _none()
    index = _index()
    if given in index.codes:
        return _decline(_entry("", given, given, "canonical"), given)
    canonical = index.self_identifying.get(given)
    for prefix, by_prefix in index.self_identifying_prefixes:
        if canonical is None and given.startswith(prefix):
            canonical = by_prefix
    if canonical is not None:
        return _decline(_entry("", given, canonical, "table"), given)
    return _decline(_entry("", given, None, "unknown"), given)


def _specificity(entry: CatalogueEntry | None) -> int:
    if entry is None or not entry.known:
        return 0
    return 1 if entry.family in GENERIC_FAMILIES else 2


def classify_result(
    gateway: str,
    decline_code: str | None,
    network_code: str | None = None,
    advice_code: str | None = None,
) -> Decline:
    """What a gateway adapter's result means: its decline code on ``gateway``, the network (ISO 8583)
    response code and the advice code (Mastercard MAC or Stripe ``advice_code``) together.

    * The most specific mapping wins: the decline code's own, unless it is unknown or generic (do_not_honor,
      generic_decline, card_declined) and the network code says more (e.g. 51 insufficient funds).
    * Never-retry overrides: a Visa Category 1 network code (``network_rules.VISA_CATEGORY_1``) or any
      network code whose entry blocks, then a never-retry advice code (MAC 01/03/21, Stripe
      ``do_not_try_again``) replace a result that would allow a retry; ``override`` says which.
    * Any other advice code (MAC 02, 24-30; Stripe ``try_again_later``, ``confirm_card_data``) fills in
      only when nothing else was recognised.
    """
    # network_rules imports this module, so its constants are imported here, not at the top.
    from .network_rules import (
        NEVER_ADVICE_CODES,
        VISA_CATEGORY_1,
        normalise_advice_code,
        normalise_network_code,
    )

    raw = normalise(decline_code)
    base = lookup(gateway, decline_code) if raw else None
    network = normalise_network_code(network_code)
    net = lookup(NETWORK, network) if network else None
    if net is not None and (not net.known or net.family == "approved"):
        net = None
    chosen = base
    if net is not None and _specificity(net) > _specificity(base):
        chosen = net

    override = None
    if base is None or base.handling != "block":
        advice_key = normalise_advice_code(advice_code)
        advised = advice(advice_key)
        at = base.gateway if base is not None else NETWORK
        if network in VISA_CATEGORY_1 or (net is not None and net.handling == "block"):
            rule = "visa_category_1" if network in VISA_CATEGORY_1 else "network_code"
            override = f"{rule}:{network}"
            if net is not None and net.handling == "block":
                chosen = net
            else:  # a Category 1 code the data file does not know (the list varies by acquirer)
                chosen = _entry(at, raw or "", "do_not_try_again", "table")
        elif advice_key in NEVER_ADVICE_CODES or (advised is not None and advised.never_retry):
            override = f"advice_code:{advice_key}"
            canonical = advised.canonical_code if advised is not None else "do_not_try_again"
            chosen = _entry(at, raw or "", canonical, "table")
        elif advised is not None and _specificity(chosen) == 0:
            chosen = _entry(at, raw or "", advised.canonical_code, "table")

    if chosen is None:
        return _none()
    return _decline(chosen, raw, override)
