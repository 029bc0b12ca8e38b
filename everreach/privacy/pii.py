"""Remove personal data from event payloads before anything is stored or forwarded.

Ingest calls :func:`scrub` on every event's properties between validation and the write, so
nothing downstream (Postgres, the outbox, PostHog, ML dataset exports) ever sees raw PII.

Why hand-written rather than a library
--------------------------------------
General PII engines (presidio, scrubadub) run NLP pipelines and per-country phone parsers
(``phonenumbers``' matcher): tens to hundreds of microseconds per string, far too slow for the
collector's budget of 20 000+ events/s on two cores, and heavy to install. ``commonregex`` is a
2014 regex bag with no Luhn check and no care for UUIDs/timestamps. What we need is narrow: a
fixed set of machine-shaped identifiers in JSON-like data. So this module is a handful of
precompiled regexes, gated by cheap substring tests, plus a Luhn check and ``ipaddress`` for
IPv6 validation.

Keys: which names are sensitive (see :func:`is_sensitive_key`)
----------------------------------------------------------------
A key is split into lower-case words (``userEmail`` -> ``user email``, ``e-mail`` -> ``e mail``,
``API_KEY`` -> ``api key``); ``compact`` is the words joined (``useremail``). Placeholders such
as ``[EMAIL]`` left by a previous scrub are ignored. The key is sensitive when:

* ``compact`` CONTAINS one of: ``password``/``passwd``, ``passphrase``, ``passcode``, ``secret``,
  ``email``, ``phone`` (not ``iphone``/``headphone``/``microphone``/``earphone``),
  ``creditcard``, ``cardnumber``/``cardnum``, ``ccnumber``/``ccnum``, ``apikey``, ``privatekey``,
  ``authorization``, ``socialsecurity``, ``forwardedfor``, ``accesskey``, ``secretkey``,
  ``accountkey``, ``signingkey``, ``credential``, ``connectionstring``; or
* ``compact`` contains ``token`` NOT followed by ``s``, ``iz`` or a count word (``count``,
  ``usage``, ``limit``, ``total``, ``num``, ``budget``, ``len``, ``cost``, ``price``, ``rate``,
  ``per``, ``estimate``). So ``access_token``, ``refreshToken``, ``token``, ``push_token`` are
  secrets, while ``tokens_out``, ``max_tokens``, ``prompt_tokens``, ``token_count`` and
  ``tokenizer`` are the ML dataset's counts/metadata and are kept. Plural credential names
  (``auth_tokens``, ``access_tokens``, ``api_tokens``, ...) are secrets again; or
* a WORD equals one of the short names ``ip``, ``ipv`` (from ``ipv4``/``ipv6``), ``ipaddr``,
  ``ipaddress``, ``ssn``, ``cvv``, ``cvc``, ``csc``, ``iban``, ``pwd``, ``pw``, ``pword``,
  ``pin``, ``pincode``, ``otp``, ``totp``, ``cred``, ``creds`` (whole words only: ``zip``,
  ``tip``, ``classname``, ``spin``, ``pinned`` do not match); or
* the LAST word is ``pass`` (``pass``, ``new_pass``; not ``pass_rate``); or
* ``compact`` is exactly ``mobile``, ``mobilenumber``, ``mobileno``, ``mobilenum``, ``tel``,
  ``telno``, ``cookie``, ``cookies``, ``setcookie`` (exact, because ``is_mobile``/``mobile_os`` and
  ``cookie_consent`` are ordinary analytics properties); or
* ``compact`` is an IP field written without separators: ``clientip``, ``remoteip``,
  ``ipaddress``, ``ipv4address``, ...

The value of a sensitive key, whatever its type (even a nested dict or a number), becomes
``"[REDACTED]"``. Known false positives we accept: ``email_verified``, ``phone_type`` and
``pin_enabled`` lose their value. Keys are also scrubbed as text; if two keys collide after
that, the later one (in insertion order) gets a ``#2``, ``#3``... suffix so no value is lost.

Text: rule order
----------------
Rules run in this order, each as one pass over the output of the previous one (placeholders
contain no digits, ``@`` or ``eyJ``, so a later rule never re-matches an earlier replacement):

1. ``Bearer <token>`` -> ``Bearer [TOKEN]`` (token of >= 16 chars, or >= 8 with a digit, so
   "the bearer of bad news" is kept). First, so the credential is labelled as such even when
   the token is a JWT.
2. Credentials in well-known formats -> ``[SECRET]``: a PEM private key block (to its END line,
   or to the end of a text cut before it), AWS access key ids (``AKIA``/``ASIA``/... + 16),
   GitHub (``ghp_``, ``gho_``, ``github_pat_``...), GitLab (``glpat-``), Slack (``xoxb-``...),
   Stripe (``sk_live_``, ``rk_test_``...), Google (``AIza`` + 35), OpenAI-style (``sk-``),
   SendGrid (``SG.x.y``) and npm tokens, not glued to a word on either side.
3. The password of a URL (``scheme://user:password@host``) -> ``[REDACTED]``.
4. ``name=value``, ``name: value``, ``"name": "value"``, ``name is: value`` where ``name`` is
   sensitive by the key rules below -> the value becomes ``[REDACTED]`` (``password=hunter2``,
   ``?access_token=...&``, ``PIN: 4821``, ``Authorization: Basic ...``). The value is quoted or
   runs to white space or a delimiter; ``true``/``false``/``null``/``yes``/``no`` are kept.
5. JWT (``eyJ...``.``...``.``...``, base64url) -> ``[JWT]``.
6. Email -> ``[EMAIL]``. Before the digit rules, which would otherwise claim digits or dotted
   quads inside an address. The local part takes RFC 5322 atext except ``?``, so in a URL the
   query parameter holding the address goes with it (``/reset?[EMAIL]&x=1``).
7. IPv6 (validated with :mod:`ipaddress`) -> ``[IP]``; before IPv4 so ``::ffff:1.2.3.4`` goes
   whole.
8. IPv4 (octets 0-255, no leading zeros) -> ``[IP]``.
9.  US SSN ``ddd-dd-dddd`` or ``ddd dd dddd`` -> ``[SSN]``; before phones (``012-34-5678``
    also looks like a national number with a trunk 0).
10. Card numbers -> ``[CARD]``: 13-19 digits starting 2-6 (the payment networks), unseparated
    or in groups split by spaces or dashes, that pass the Luhn check. Within a longer run of
    digit groups the leftmost, longest Luhn-valid window of whole groups is taken (``qty 2 4111
    1111 1111 1111``). A multi-group window has groups of 4-6 digits (the last may be shorter),
    the shapes cards are printed in (so an order number ``123-4567890-1234567`` is not one).
    Before phones so a Luhn-valid 15/16-digit grouped number is called a card.
11. Phones -> ``[PHONE]``: ``+CC`` international (7-15 digits, separators `` .-()``);
    NANP ``(555) 123-4567``, ``555-123-4567``, ``555.123.4567``, ``555 123 4567``, optional
    leading ``1``; national numbers with a trunk ``0``, an area code of 1-5 digits and groups
    split by spaces or dashes (``020 7946 0958``, ``06 12 34 56 78``, ``098765 43210``), a
    slash after the area code (``030/1234567``) or dots throughout (``06.12.34.56.78``), 9-15
    digits; an Indian mobile number without its trunk 0 (``98765 43210``); local ``555-1234``.
    A run of digits with no separators and no ``+`` is never a phone, and a digit run that
    failed Luhn in rule 10 may still be a phone here. A ``+CC``/trunk shape that runs on into
    further numbers keeps its longest prefix, ending at a group boundary, that has an allowed
    digit count.

Digit rules (8-11) only match when not glued to other identifiers: not preceded or followed by
an ASCII letter or digit, directly or through a dash, and not part of a decimal (``3.14``).
That is what keeps UUIDs (``3f2b1c4e-1234-...``), ISO timestamps (``2026-11-25T10:00:00Z``),
versions (``1.2.3``, ``2026.11.3``), decimals and short integers intact. Accepted limits: a
four-part version ``1.2.3.4`` is a valid IPv4 and becomes ``[IP]``; a Luhn-valid order id of
13-19 digits starting 2-6 becomes ``[CARD]``; two five-digit numbers starting 6-9 and one space
apart (``90210 10001``) become ``[PHONE]``; PII glued to letters (``tel555-123-4567``) is not
found. ``python -m bench.pii_corpus`` measures both sides on a corpus of PII in many national
formats and of look-alikes (versions, dates, prices, ids, order numbers, coordinates).

Then, in :func:`scrub`, strings longer than ``max_text`` are cut, and the cut text is scrubbed
again (a cut can expose "555-123-4567" that was glued to the character after it).

Cost
----
A string shorter than 20 characters with no digit, ``@``, ``:``, ``=``, ``eyJ`` or
``bearer``/``Bearer``/``BEARER`` (event names, enum values) costs one length test, one regex
search and three substring tests; so a mixed-case "BeArEr" followed by a short letters-only
token, in such a string, is not looked at. Every well-known credential format is 20 characters
or more. A string that is wholly a UUID, an ISO date/time, a short version or a number
(the bulk of event values) costs one more ``fullmatch``. The other passes are each gated by a
substring test, and the four digit passes by one search for a run of 7+ digit-ish characters.
Patterns are written to be linear (possessive runs, look-behinds placed after a plain first
character so the engine skips quickly to candidates). Key sensitivity is cached for keys that
hold no PII (the same few hundred property names repeat), and so are property values shaped like
ids or labels (no white space, at most 64 characters: model and product names) in which nothing
was found; free text is not remembered, nor are whole ids, times and numbers (the ``fullmatch``
tells them at once, and most ids are new with every event). Strings are scanned only up
to ``max_text`` + 16 KiB, which bounds the work a huge value can cause while still seeing any
token that straddles the truncation point.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

__all__ = [
    "CARD",
    "EMAIL",
    "IP",
    "JWT",
    "PHONE",
    "REDACTED",
    "SECRET",
    "SSN",
    "TOKEN",
    "is_sensitive_key",
    "scrub",
    "scrub_repeated",
    "scrub_text",
]

REDACTED = "[REDACTED]"
EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
SSN = "[SSN]"
SECRET = "[SECRET]"
CARD = "[CARD]"
JWT = "[JWT]"
TOKEN = "[TOKEN]"
IP = "[IP]"

# Smallest accepted max_text: a limit that cannot hold a placeholder is a configuration error.
_MIN_MAX_TEXT = 16
# Characters scanned past max_text: enough for any realistic token straddling the cut (a JWT
# of several KiB), small enough that a multi-megabyte string costs no more than a 21 KB one.
_SCAN_MARGIN = 16 * 1024
# Re-scrubs after truncation before a final hard cut (each removes a match exposed by the cut).
_MAX_TRUNCATE_ROUNDS = 4

# ---------------------------------------------------------------------------------------------
# Text rules
# ---------------------------------------------------------------------------------------------

# Cheap pre-filter: every rule needs one of these characters, or "eyJ" / "bearer" (tested with
# `in`, which is faster than adding them to the regex). Most strings in events have none.
_TRIGGER = re.compile(r"[0-9@:=]")
_HAS_DIGIT = re.compile(r"[0-9]")
_WHITE_SPACE = re.compile(r"\s")
# Whole strings of these shapes are what events are full of (ids, times, builds, numbers) and
# hold no PII under any rule below, so they skip the passes. Plain integers stop at 12 digits:
# 13-19 may be a card.
_SAFE_WHOLE = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
    r"|v?[0-9]{1,4}(?:\.[0-9]{1,3}){1,2}"  # not 3-3-4: "555.123.4567" is a phone
    r"|-?[0-9]{1,20}\.[0-9]{1,20}"
    r"|-?[0-9]{1,12}"
)
# Every digit rule (IPv4, SSN, card, phone) matches at least 7 characters of digits and
# separators, starting and ending with a digit: without such a run those passes are skipped.
_DIGIT_RUN = re.compile(r"[0-9][0-9 .()/\-]{5,}[0-9]")

_BEARER = re.compile(r"(?i:\bbearer)\s+([A-Za-z0-9\-._~+/]+=*)")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# The local part starts where a run of atext characters starts and is taken possessively
# (neither "@" nor "." ends it early), so each run is read once: linear in the text length.
_ATEXT = r"[\w.!#$%&'*+/=^`{|}~-]"
_EMAIL = re.compile(
    rf"(?<!{_ATEXT}){_ATEXT}++@[\w-]{{1,63}}+(?:\.[\w-]{{1,63}}+)*\.[\w-]{{2,63}}",
)
# Well-known credential formats, found anywhere in text (placeholder [SECRET]): AWS access key
# ids, GitHub, GitLab, Slack, Stripe, Google, OpenAI-style, SendGrid and npm tokens. Each
# branch starts with a plain character and checks the one before it afterwards (as _LB1 does),
# so the engine skips to candidate first letters; none may be glued to a word on either side.
# Two patterns, because prose is full of lower-case letters: the formats starting with an upper-
# case letter, and the others (which all hold "_" or "-"). Each is searched only in a string that
# holds a piece of text that every one of its formats has (tested with `in`, many times faster
# than the regex): most prose has none. Every format is at least _TOKEN_MIN_LEN characters long.
_TOKEN_MIN_LEN = 20
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9].)"
_TOKEN_END = r"(?![A-Za-z0-9])"
_UPPER_TOKEN = re.compile(
    rf"(?:A{_NOT_AFTER_WORD}(?:(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|PKA)[A-Z0-9]{{16}}"
    rf"|Iza[0-9A-Za-z_-]{{35}})"
    rf"|S{_NOT_AFTER_WORD}G\.[A-Za-z0-9_-]{{22}}\.[A-Za-z0-9_-]{{43}})" + _TOKEN_END
)
_SNAKE_TOKEN = re.compile(
    rf"(?:g{_NOT_AFTER_WORD}(?:h[pousr]_[A-Za-z0-9]{{36,251}}|ithub_pat_[A-Za-z0-9_]{{22,255}}"
    rf"|lpat-[A-Za-z0-9_-]{{20,}})"
    rf"|x{_NOT_AFTER_WORD}ox[abposr]-[A-Za-z0-9-]{{20,}}"
    rf"|[rsp]{_NOT_AFTER_WORD}k_(?:live|test)_[A-Za-z0-9]{{16,}}"
    rf"|s{_NOT_AFTER_WORD}k-[A-Za-z0-9_-]{{20,}}"
    rf"|w{_NOT_AFTER_WORD}hsec_[A-Za-z0-9]{{20,}}"
    rf"|n{_NOT_AFTER_WORD}pm_[A-Za-z0-9]{{36}})" + _TOKEN_END
)
# A PEM private key, to its END line (or to the end of the text when that was cut off).
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)",
    re.DOTALL,
)
# user:password@ in a URL ("postgres://app:s3cret@db/app"): the password goes.
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]{1,256}):[^/\s@]{1,256}@")
# `name=value`, `name: value`, `"name": "value"`, `name is: value` in text. Separators are rare
# and names are not, so the search is for the separator (with the value in a look-ahead) and
# the name is read backwards from it (on at most _NAME_SPAN characters). The value
# is quoted (to the closing quote, or the end of the line when there is none), or runs to white
# space or a delimiter; a placeholder ("[EMAIL]") is no value. Whether the name is sensitive is
# decided by is_sensitive_key, like property names.
_SEPARATOR = re.compile(
    r"[:=]\s{0,3}"
    r"(?=(?P<value>\"[^\"\n]{1,256}\"?|'[^'\n]{1,256}'?"
    r"|(?i:basic|digest)\s+[^\s\"'&,;<>]{1,512}|[^\s\"'&,;<>\[\]{}()]{1,256}))"
)
_NAME_SPAN = 64 + 8
# The name before a separator, matched on the reversed text before it (one anchored attempt):
# spaces, an optional " is", an optional closing quote, then the name's characters.
_NAME_BEFORE_REVERSED = re.compile(r"\s{0,3}(?:si\s+)?[\"']?([\w.-]{1,64}+)")
# IPv6 candidates: 2-8 colon groups of hex, optionally an embedded IPv4 tail; validated after.
_IPV6 = re.compile(
    r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,8}(?:\.[0-9]{1,3}){0,3}"
    r"(?![\w:]|\.[0-9])"
)

# Digit rules must not be glued to an identifier: no ASCII letter or digit before or after,
# directly or through a dash, and not inside a decimal. Each pattern starts with a plain
# character class and checks the character(s) before it with fixed-width look-behinds placed
# AFTER that first character ("_LB1"): the regex engine can then skip quickly to candidate
# characters instead of evaluating look-behinds at every position (about 2-3x faster on prose).
_LB1 = r"(?<![0-9A-Za-z].)(?<![0-9A-Za-z]-.)(?<![0-9]\..)"
_LA = r"(?![0-9A-Za-z])(?!-[0-9A-Za-z])(?!\.[0-9])"
# Loose dotted quad; octet ranges and leading zeros are checked in _ipv4_repl.
_IPV4 = re.compile(r"[0-9]" + _LB1 + r"[0-9]{0,2}(?:\.[0-9]{1,3}){3}" + _LA)
# "123-45-6789" or "123 45 6789": one separator, the same twice.
_SSN = re.compile(r"[0-9]" + _LB1 + r"[0-9]{2}([ -])[0-9]{2}\1[0-9]{4}" + _LA)
# A run of >= 13 digits, optionally split by single spaces/dashes. Possessive tail: the run is
# taken whole (no backtracking), and the callback decides which part, if any, is a card.
_CARD_RUN = re.compile(r"[0-9](?<![0-9].)(?:[ -]?[0-9]){12}(?:[ -]?[0-9])*+")
_DIGIT_GROUP = re.compile(r"[0-9]+")
# Phone shapes, each written "after its first character" (see _LB1); names ending in the same
# stem share a digit-count check in _PHONE_DIGITS.
_NANP_TAIL = r"[0-9]{3}[ .-][0-9]{4}"
# After the trunk 0: an area code of 1-5 digits, then groups split by spaces/dashes ("020 7946
# 0958", "098765 43210"), a slash after the area code ("030/1234567") or dots throughout
# ("06.12.34.56.78", never mixed with other separators, so "0.5 12.30" stays).
_TRUNK_TAIL = (
    r"[0-9]{1,5}\)?(?:[ /\-][0-9]{2,8}(?:[ -][0-9]{2,8}){0,4}"
    r"|\.[0-9]{2,4}(?:\.[0-9]{2,4}){1,4})"
)
# "At least N more digits ahead" (a few separator characters allowed between them): lets a
# too-short variable-width shape fail inside the regex, so the alternation goes on to the next
# shape at the same position ("000-0000" is local, not a short trunk number).
_TRUNK_MIN = r"(?=(?:[ ().\-/]{0,2}[0-9]){8})"  # 0 + 8 = 9 digits
_INTL_MIN = r"(?=(?:[ .()\-]{0,3}[0-9]){7})"
_PHONE = re.compile(
    r"[0-9+(]"
    + _LB1
    + r"(?:"
    # +44 20 7946 0958, +1 (555) 123-4567, +15551234567
    + rf"(?P<intl>(?<=\+){_INTL_MIN}[0-9][0-9 .()\-]{{5,22}}[0-9])"
    # (555) 123-4567
    + rf"|(?<=\()[0-9]{{3}}\)[ .-]?{_NANP_TAIL}"
    # 1-555-123-4567, 1 (555) 123-4567
    + rf"|(?<=1)[ .-]?(?:\([0-9]{{3}}\)[ .-]?|[0-9]{{3}}[ .-]){_NANP_TAIL}"
    # 555-123-4567, 555.123.4567, 555 123 4567
    + rf"|(?<=[0-9])[0-9]{{2}}[ .-]{_NANP_TAIL}"
    # (020) 7946 0958
    + rf"|(?P<trunkp>(?<=\()0{_TRUNK_MIN}{_TRUNK_TAIL})"
    # 020 7946 0958, 06 12 34 56 78, 030-1234567
    + rf"|(?P<trunk>(?<=0){_TRUNK_MIN}{_TRUNK_TAIL})"
    # 98765 43210 (an Indian mobile number without its trunk 0)
    + r"|(?<=[6-9])[0-9]{4} [0-9]{5}"
    # 555-1234
    + r"|(?<=[0-9])[0-9]{2}-[0-9]{4}"
    + r")"
    + _LA
    + r"(?!:[0-9])"  # "05-01-2026 09:30" is a date and a time, not a number to call
)
# Digit-count bounds for the phone shapes that are not fixed-width (the lower bounds are also
# enforced by the look-aheads above; the upper ones only here).
_PHONE_DIGITS = {"intl": (7, 15), "trunkp": (9, 15), "trunk": (9, 15)}

# Payment cards start with 2-6; 1 (airlines), 7-9 and 0 are not payment networks, and are what
# millisecond timestamps (1...) and many barcodes and order numbers start with.
_CARD_FIRST_DIGITS = frozenset("23456")
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def _luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check, the checksum every payment card number carries.

    ``digits`` is ASCII 0-9 only. Every second digit from the right is doubled (digit sum
    taken), done with ``str.translate`` and summed as bytes: C loops, ~3x a Python loop.
    """
    doubled = digits[-2::-2].translate(_LUHN_DOUBLED)
    total = sum(digits[-1::-2].encode()) + sum(doubled.encode()) - 48 * len(digits)
    return total % 10 == 0


def _glues(near: str, far: str) -> bool:
    """Whether a digit run continues through ``near`` (then ``far``) into an identifier.

    Mirrors _LB1/_LA for the card callback: an ASCII letter or digit right next to the run, or
    one behind a dash ("abc-4111..."), or a digit behind a dot (a decimal "0.4111...").
    """
    if near.isascii() and near.isalnum():
        return True
    if near == "-":
        return far.isascii() and far.isalnum()
    return near == "." and far.isascii() and far.isdigit()


def _glued_before(s: str, i: int) -> bool:
    return i > 0 and _glues(s[i - 1], s[i - 2] if i > 1 else "")


def _glued_after(s: str, j: int) -> bool:
    return j < len(s) and _glues(s[j], s[j + 1] if j + 1 < len(s) else "")


def _card_repl(m: re.Match[str]) -> str:
    text = m.group(0)
    groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(text)]
    lengths = [b - a for a, b in groups]
    digits = [text[a:b] for a, b in groups]
    first = 1 if _glued_before(m.string, m.start()) else 0
    last = len(groups) - (2 if _glued_after(m.string, m.end()) else 1)
    out: list[str] = []
    pos = 0  # next unconsumed offset in text
    i = first
    while i <= last:
        # Longest window of whole groups starting at group i that is shaped like a printed
        # card (one group of 13-19 digits, or groups of 4-6 with a last group of 1-6), starts
        # like a payment card (2-6: Mastercard, Visa, Amex, Diners, JCB, Discover, UnionPay)
        # and passes Luhn.
        best = -1
        total = 0
        if digits[i][0] not in _CARD_FIRST_DIGITS:
            i += 1
            continue
        for j in range(i, last + 1):
            total += lengths[j]
            if total > 19 or (j > i and not 4 <= lengths[j - 1] <= 6):
                break
            if total >= 13 and (j == i or lengths[j] <= 6) and _luhn_ok("".join(digits[i : j + 1])):
                best = j
        if best < 0:
            i += 1
            continue
        out.append(text[pos : groups[i][0]])
        out.append(CARD)
        pos = groups[best][1]
        i = best + 1
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _phone_repl(m: re.Match[str]) -> str:
    bounds = _PHONE_DIGITS.get(m.lastgroup or "")
    if bounds is None:
        return PHONE
    lo, hi = bounds
    text = m.group(0)
    # The greedy shape may have run on into following numbers ("+1 555 123 4567 2024"): take
    # the longest prefix that ends at a group boundary and has an allowed digit count.
    cut = 0
    count = 0
    for i, ch in enumerate(text):
        if "0" <= ch <= "9":
            count += 1
            if count > hi:
                break
            if count >= lo and (i + 1 == len(text) or not "0" <= text[i + 1] <= "9"):
                cut = i + 1
    if cut:
        return PHONE + _PHONE.sub(_phone_repl, text[cut:])
    # No phone at this start, but the regex consumed the text: look again from the next one.
    return text[0] + _PHONE.sub(_phone_repl, text[1:])


def _ipv4_repl(m: re.Match[str]) -> str:
    text = m.group(0)
    for octet in text.split("."):
        if int(octet) > 255 or (len(octet) > 1 and octet[0] == "0"):
            return text  # "999.1.1.1", "01.02.03.04": not an address
    return IP


def _ipv6_repl(m: re.Match[str]) -> str:
    text = m.group(0)
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return text  # a time "10:00:00", a MAC address, "std::" ...
    return IP


def _bearer_repl(m: re.Match[str]) -> str:
    tok = m.group(1)
    if len(tok) >= 16 or (len(tok) >= 8 and _HAS_DIGIT.search(tok) is not None):
        return "Bearer " + TOKEN
    return m.group(0)


def _may_hold_pii(s: str) -> bool:
    """Cheap test that every rule needs to pass; False for most strings in events."""
    return (
        len(s) >= _TOKEN_MIN_LEN
        or _TRIGGER.search(s) is not None
        or "eyJ" in s
        or "earer" in s
        or "EARER" in s
    )


# Values that say nothing secret ("pin_enabled: false"); "Bearer" is the scheme word of an
# "Authorization: Bearer [TOKEN]" whose token the bearer rule has already replaced.
_NOT_SECRETS = frozenset({"true", "false", "null", "none", "yes", "no", "bearer"})


def _name_before(s: str, lo: int, hi: int) -> str | None:
    """The name written right before the separator at ``hi`` (looking no further back than
    ``lo``): a run of word characters, dots and dashes that starts with a letter and is not the
    tail of a longer run; None when there is none."""
    m = _NAME_BEFORE_REVERSED.match(s[lo:hi][::-1])
    if m is None:
        return None
    start = hi - m.end()
    if start > 0 and (s[start - 1].isalnum() or s[start - 1] in "_.-"):
        return None  # the tail of a longer run
    name = m[1][::-1]
    return name if name[0].isascii() and name[0].isalpha() else None


def _redact_assignments(s: str) -> str:
    """Replace the value of every `sensitive_name=value` (or `: value`) in ``s``."""
    out: list[str] = []
    pos = 0
    for m in _SEPARATOR.finditer(s):
        value = m["value"]
        if m.start() < pos or value.lower() in _NOT_SECRETS:
            continue
        name = _name_before(s, max(pos, m.start() - _NAME_SPAN), m.start())
        if name is None or not _plain_key_sensitive(name):
            continue
        out.append(s[pos : m.end()])
        out.append(REDACTED)
        pos = m.end("value")
    if not out:
        return s
    out.append(s[pos:])
    return "".join(out)


def scrub_text(s: str) -> str:
    """Replace PII inside one string with placeholders; no truncation.

    See the module docstring for the rules and their order. Idempotent: placeholders never
    match a rule, so ``scrub_text(scrub_text(s)) == scrub_text(s)``.
    """
    if not _may_hold_pii(s) or _SAFE_WHOLE.fullmatch(s) is not None:
        return s
    if "bearer" in s.lower():
        s = _BEARER.sub(_bearer_repl, s)
    if "-----BEGIN" in s:
        s = _PRIVATE_KEY.sub(SECRET, s)
    if len(s) >= _TOKEN_MIN_LEN:
        if "A" in s or "SG." in s:  # AWS and Google keys start with "A", SendGrid's with "SG."
            s = _UPPER_TOKEN.sub(SECRET, s)
        if "_" in s or "glpat-" in s or "xox" in s or "sk-" in s:  # the others all have "_"
            s = _SNAKE_TOKEN.sub(SECRET, s)
    if "://" in s:
        s = _URL_PASSWORD.sub(r"\1:" + REDACTED + "@", s)
    if "=" in s or ":" in s:
        s = _redact_assignments(s)
    if "eyJ" in s:
        s = _JWT.sub(JWT, s)
    if "@" in s:
        s = _EMAIL.sub(EMAIL, s)
    if "::" in s or s.count(":") >= 7:
        s = _IPV6.sub(_ipv6_repl, s)
    if _DIGIT_RUN.search(s) is None:
        return s
    if "." in s:
        s = _IPV4.sub(_ipv4_repl, s)
    if "-" in s or " " in s:
        s = _SSN.sub(SSN, s)
    s = _CARD_RUN.sub(_card_repl, s)
    return _PHONE.sub(_phone_repl, s)


# Short values that recur across events (device models, builds, platforms, event names, and
# property values that identify or classify: ids, product and model names) and in which
# scrub_text found nothing: remembered so that the next event pays one set lookup. Only values
# without PII are kept, so no PII stays in memory; cleared when full, like _PLAIN_KEYS.
_PII_FREE_VALUES: set[str] = set()
_PII_FREE_VALUES_MAX = 8192
_REPEATED_MAX_LEN = 200
# Property values are remembered only when shaped like an identifier or a label (no white space,
# at most this long). Free text is not: it seldom repeats, and a person's words should not stay
# in memory after their request.
_LABEL_MAX_LEN = 64


def scrub_repeated(s: str) -> str:
    """:func:`scrub_text` for short values that repeat from event to event (the context fields,
    event names); what holds no PII is remembered."""
    if s in _PII_FREE_VALUES:
        return s
    out = scrub_text(s)
    if out == s and len(s) <= _REPEATED_MAX_LEN:
        _remember_pii_free(s)
    return out


def _remember_pii_free(s: str) -> None:
    if len(_PII_FREE_VALUES) >= _PII_FREE_VALUES_MAX:
        _PII_FREE_VALUES.clear()
    _PII_FREE_VALUES.add(s)


def _scrub_property_str(s: str, max_text: int) -> str:
    """:func:`_scrub_str` for a property value: ids and labels that hold no PII (model and
    product names, which recur from event to event) are remembered (see _PII_FREE_VALUES)."""
    if s in _PII_FREE_VALUES and len(s) <= max_text:
        return s
    out = _scrub_str(s, max_text)
    if out == s and len(s) <= _LABEL_MAX_LEN and not _WHITE_SPACE.search(s):
        _remember_pii_free(s)
    return out


def _scrub_str(s: str, max_text: int) -> str:
    """Scrub, then truncate to ``max_text``; re-scrub what the cut may have exposed."""
    if len(s) > max_text + _SCAN_MARGIN:
        s = s[: max_text + _SCAN_MARGIN]
    out = scrub_text(s)
    rounds = 0
    while len(out) > max_text:
        # A cut can turn "555-123-4567x" (glued, not a phone) into "...555-123-4567", or
        # leave a prefix that now matches; scrub the truncated text again.
        out = scrub_text(out[:max_text])
        rounds += 1
        if rounds >= _MAX_TRUNCATE_ROUNDS:
            out = out[:max_text]
            break
    return out


# ---------------------------------------------------------------------------------------------
# Key rules
# ---------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\[(?:REDACTED|EMAIL|PHONE|SSN|CARD|JWT|TOKEN|IP|SECRET)\]")
_KEY_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SENSITIVE_SUBSTRING = re.compile(
    r"passw(?:or)?d|passphrase|passcode|secret|email"
    r"|(?<!i)(?<!head)(?<!micro)(?<!ear)phone"
    r"|creditcard|cardnum|ccnum|apikey|privatekey|authorization|socialsecurity|forwardedfor"
    r"|accesskey|secretkey|accountkey|signingkey|credential|connectionstring"
    r"|token(?!s|iz|count|usage|limit|total|num|budget|len|cost|price|rate|per|estimate)"
    r"|(?:access|auth|refresh|api|bearer|session|csrf|id|push|device|oauth)tokens"
)
_SENSITIVE_WORDS = frozenset(
    {
        *("ip", "ipv", "ipaddr", "ipaddress", "ssn", "cvv", "cvc", "csc", "iban"),
        *("pwd", "pw", "pword", "pin", "pincode", "otp", "totp", "cred", "creds"),
    }
)
# Sensitive only as the LAST word: "pass", "new_pass" hold a password, "pass_rate" does not.
_SENSITIVE_LAST_WORDS = frozenset({"pass"})
_SENSITIVE_COMPACT = frozenset(
    {
        "mobile",
        "mobilenumber",
        "mobileno",
        "mobilenum",
        "tel",
        "telno",
        "cookie",
        "cookies",
        "setcookie",
    }
)
_IP_COMPACT = re.compile(
    r"(?:client|remote|user|source|src|real|xreal|origin|peer|public|private|local|device|last"
    r"|server|host|forwarded|xforwarded)?ip(?:v[46])?(?:addr|address|addresses)?"
)


def is_sensitive_key(key: str) -> bool:
    """Whether a property named ``key`` holds a secret or PII whatever its value looks like.

    Matching is on the key split into words (see the module docstring for the exact rule);
    placeholders left by an earlier scrub are ignored so that a key scrubbed to ``[EMAIL]``
    does not make its value sensitive on a second pass (scrub stays idempotent).
    """
    words = [w.lower() for w in _KEY_WORD.findall(_PLACEHOLDER.sub(" ", key))]
    if not words:
        return False
    compact = "".join(words)
    return (
        _SENSITIVE_SUBSTRING.search(compact) is not None
        or not _SENSITIVE_WORDS.isdisjoint(words)
        or words[-1] in _SENSITIVE_LAST_WORDS
        or compact in _SENSITIVE_COMPACT
        or _IP_COMPACT.fullmatch(compact) is not None
    )


# Verdicts for keys that hold no PII (no trigger character, or nothing for the scrubber to take),
# which are the same few hundred property names over and over. Only such keys are stored, so no
# PII stays in memory.
# Cleared when full rather than LRU: cheaper per lookup, and a refill costs microseconds.
_PLAIN_KEYS: dict[str, bool] = {}
_PLAIN_KEYS_MAX = 8192


def _holds_no_pii(key: str) -> bool:
    return not _may_hold_pii(key) or scrub_text(key) == key


def _plain_key_sensitive(key: str) -> bool:
    """is_sensitive_key, cached for keys that hold no PII (see _PLAIN_KEYS)."""
    sensitive = _PLAIN_KEYS.get(key)
    if sensitive is None:
        sensitive = is_sensitive_key(key)
        if _holds_no_pii(key):
            if len(_PLAIN_KEYS) >= _PLAIN_KEYS_MAX:
                _PLAIN_KEYS.clear()
            _PLAIN_KEYS[key] = sensitive
    return sensitive


def _key_info(key: object, max_text: int) -> tuple[object, bool]:
    """The scrubbed key and whether its value must be redacted."""
    if type(key) is not str:
        if not isinstance(key, str):
            return key, False  # int/float/None keys: not JSON, but Python dicts allow them
        key = str(key)
    if len(key) <= max_text and _holds_no_pii(key):
        return key, _plain_key_sensitive(key)
    new = _scrub_str(key, max_text)
    # Sensitive if either the raw name or the scrubbed one says so: both are checked so that a
    # second scrub (which only sees the scrubbed name) reaches the same verdict.
    return new, is_sensitive_key(key) or is_sensitive_key(new)


# ---------------------------------------------------------------------------------------------
# Structures
# ---------------------------------------------------------------------------------------------


def _scrub_dict(d: Mapping[object, object], max_text: int) -> dict[object, object]:
    # The hot loop of ingest: scalars and plain strings are handled inline, without a call.
    out: dict[object, object] = {}
    plain = _PLAIN_KEYS
    for key, value in d.items():
        sensitive = plain.get(key)
        if sensitive is None or len(key) > max_text:
            new_key, sensitive = _key_info(key, max_text)
        else:
            new_key = key
        if new_key in out:
            new_key = _dedupe_key(str(new_key), out, max_text)
        if sensitive:
            out[new_key] = REDACTED
            continue
        t = type(value)
        if t is str:
            if len(value) > max_text:
                value = _scrub_property_str(value, max_text)
            elif (
                len(value) >= _TOKEN_MIN_LEN
                or _TRIGGER.search(value) is not None
                or "eyJ" in value
                or "earer" in value
                or "EARER" in value
            ) and _SAFE_WHOLE.fullmatch(value) is None:
                # A whole id, time or number (_SAFE_WHOLE) is what scrub_text returns unchanged,
                # so it is kept here without the calls, and not remembered: most are fresh per
                # event (prompt and response ids), and would only crowd out values that recur.
                value = _scrub_property_str(value, max_text)
        elif not (t is int or t is float or t is bool or value is None):
            value = _scrub_value(value, max_text)
        out[new_key] = value
    return out


def _dedupe_key(base: str, taken: Mapping[object, object], max_text: int) -> str:
    """Two keys became equal (two emails -> "[EMAIL]"): suffix #2, #3... in insertion order."""
    n = 2
    while True:
        suffix = f"#{n}"
        candidate = base[: max_text - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _scrub_value(value: object, max_text: int) -> object:
    t = type(value)
    if t is str:
        return _scrub_str(value, max_text)
    if t is dict:
        return _scrub_dict(value, max_text)
    if t is list or t is tuple:
        return [_scrub_value(v, max_text) for v in value]
    if value is None or t is int or t is float or t is bool:
        return value
    # Subclasses and anything that is not JSON-like.
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _scrub_str(str(value), max_text)
    if isinstance(value, Mapping):
        return _scrub_dict(value, max_text)
    if isinstance(value, list | tuple):
        return [_scrub_value(v, max_text) for v in value]
    # Unknown objects are not passed through untouched: their text form is scrubbed instead.
    return _scrub_str(str(value), max_text)


def scrub(value: object, *, max_text: int = 5000) -> object:
    """Return a PII-free copy of a JSON-like value; the input is not modified.

    Dicts and lists are walked to any depth. Values of sensitive keys become ``"[REDACTED]"``;
    other strings (values and keys) go through :func:`scrub_text` and are then cut to
    ``max_text`` characters; scrubbing first means a cut cannot leave half a token that the
    patterns no longer recognise. Numbers, booleans and ``None`` are kept. Tuples come back as
    lists. ``scrub(scrub(x)) == scrub(x)``.
    """
    if max_text < _MIN_MAX_TEXT:
        raise ValueError(f"max_text must be at least {_MIN_MAX_TEXT}, got {max_text}")
    return _scrub_value(value, max_text)
