"""Join codes: people join a cohort as learners by themselves, with a code staff gave them.

A code is 20 characters of Crockford's base32 (100 random bits), written in groups of
five: ``K7QM2-9XWTR-…``. People paste it or type it, so reading forgives what people
do: any case, spaces or dashes anywhere, and O for 0, I or L for 1. Only its SHA-256
digest is stored; a fast hash is enough for a secret with 100 random bits.

Who may join, written once (``join_refusal``) for the confirm page and the service:
- someone already in the cohort (any role) is told so; no use is counted;
- a revoked, expired or used-up code says which, in words;
- someone who already learns in another cohort is sent to program staff: a learner
  in two cohorts would follow two calendars of the same projects, and moving a learner
  (their attempts belong to the old cohort's releases) is staff's decision. Mentors and
  reviewers of other cohorts may join as learners.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core.models import Cohort, JoinCode, Membership, User
from core.platform.audit import audit
from core.platform.timefmt import now_or

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O or U
GROUPS = 4
GROUP_SIZE = 5
CODE_LENGTH = GROUPS * GROUP_SIZE  # 100 bits
# What people type for what they mean (Crockford's decoding rules).
_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -\t\n\r")
# The longest text worth reading as a code: a pasted code with spaces around it.
MAX_INPUT = 64


# The session key under which a join link remembers itself for a visitor sent to sign in.
JOIN_AFTER_SIGN_IN = "join_after_sign_in"


def code_new() -> str:
    """A fresh random code, grouped for reading: 'K7QM2-9XWTR-4HB0C-ZP8NS'."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP_SIZE] for i in range(0, CODE_LENGTH, GROUP_SIZE))


def code_normalized(text: str) -> str | None:
    """The code's 20 characters as stored, or None when ``text`` cannot be a code."""
    if len(text) > MAX_INPUT:
        return None
    raw = text.translate(_IGNORED).upper().translate(_READS_AS)
    if len(raw) != CODE_LENGTH or any(char not in ALPHABET for char in raw):
        return None
    return raw


def code_digest(text: str) -> str | None:
    """The digest a code is stored and looked up by, or None when ``text`` is no code.

    Looking up the digest (never the code) also keeps the comparison safe: what an
    index lookup's timing could reveal is a hash, not a prefix of a real code.
    """
    raw = code_normalized(text)
    return hashlib.sha256(raw.encode()).hexdigest() if raw else None


def join_url(code: str) -> str:
    """The absolute link staff share: SITE_URL/join/<code>/."""
    return settings.SITE_URL.rstrip("/") + reverse("join_link", args=[code])


def code_assign(join_code: JoinCode) -> str:
    """Give an unsaved ``join_code`` a fresh code (its digest and hint); return the code,
    which nothing keeps: show it to staff now or never."""
    code = code_new()
    digest = code_digest(code)
    assert digest is not None  # a code we made is a code
    join_code.digest = digest
    join_code.hint = code[:GROUP_SIZE]
    return code


@dataclass(frozen=True)
class NewJoinCode:
    """A code just made: the only moment its text is known."""

    join_code: JoinCode
    code: str

    @property
    def url(self) -> str:
        return join_url(self.code)


def join_code_create(
    *,
    cohort: Cohort,
    max_uses: int,
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> NewJoinCode:
    """A new code for ``cohort``; ``expires_at`` defaults to JOIN_CODE_DAYS from now."""
    join_code = JoinCode(
        cohort=cohort,
        max_uses=max_uses,
        expires_at=expires_at or timezone.now() + timedelta(days=settings.JOIN_CODE_DAYS),
        created_by=created_by,
    )
    code = code_assign(join_code)
    join_code.full_clean()
    join_code.save()
    return NewJoinCode(join_code, code)


def join_code_revoke(*, join_code: JoinCode, now: datetime | None = None) -> bool:
    """Stop ``join_code`` working from now on; False when it was revoked already."""
    revoked = JoinCode.objects.filter(pk=join_code.pk, revoked_at__isnull=True).update(
        revoked_at=now_or(now)
    )
    if revoked:
        join_code.refresh_from_db(fields=["revoked_at"])
        audit(action="join_code_revoked", obj=join_code, detail={"cohort_id": join_code.cohort_id})
    return bool(revoked)


def join_code_find(text: str) -> JoinCode | None:
    """The code ``text`` names, with its cohort and program, or None (one query at most)."""
    digest = code_digest(text)
    if digest is None:
        return None
    return JoinCode.objects.select_related("cohort__program").filter(digest=digest).first()


@dataclass(frozen=True)
class Refusal:
    """Why someone cannot join with a code, in words they can act on."""

    reason: str  # "unknown", a JoinCode.State, "already_member", "learning_elsewhere"
    message: str
    status: int  # the HTTP status of a page that says it
    membership: Membership | None = None  # already a member: their membership


def _contact() -> str:
    return f"program staff ({settings.PROGRAM_CONTACT_EMAIL})"


UNKNOWN = Refusal(
    "unknown",
    "This join code does not exist. Check that you copied all of it, or ask "
    "the person who gave it to you for the link.",
    404,
)


def join_refusal(
    join_code: JoinCode | None, user: User, now: datetime | None = None
) -> Refusal | None:
    """Why ``user`` cannot join with ``join_code`` now, or None when they can (2 queries)."""
    if join_code is None:
        return UNKNOWN
    cohort = join_code.cohort
    existing = Membership.objects.filter(user=user, cohort=cohort).first()
    if existing is not None:
        return Refusal(
            "already_member",
            f"You are already in {cohort} (as a {existing.get_role_display().lower()}).",
            200,
            existing,
        )
    state = join_code.state(now)
    if state == JoinCode.State.REVOKED:
        message = f"This join code for {cohort} was withdrawn by program staff."
    elif state == JoinCode.State.EXPIRED:
        expired = timezone.localtime(join_code.expires_at, cohort.tz)
        message = f"This join code for {cohort} expired on {expired:%-d %B %Y}."
    elif state == JoinCode.State.USED_UP:
        message = (
            f"This join code for {cohort} has been used by as many people as it allows "
            f"({join_code.max_uses})."
        )
    else:
        elsewhere = (
            Membership.objects.filter(user=user)
            .learners()
            .select_related("cohort")
            .order_by("-cohort__start_date")
            .first()
        )
        if elsewhere is None:
            return None
        return Refusal(
            "learning_elsewhere",
            f"You already learn in {elsewhere.cohort}. To move to {cohort}, write to {_contact()}.",
            409,
        )
    return Refusal(str(state), f"{message} Ask {_contact()} for a new one.", 410)


class JoinRefused(Exception):
    """Redeeming a code was refused; ``refusal`` says why."""

    def __init__(self, refusal: Refusal, join_code: JoinCode | None = None) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
        self.join_code = join_code


def join_code_redeem(*, code: str, user: User, now: datetime | None = None) -> Membership:
    """Add ``user`` to the code's cohort as a learner and count the use; audited.

    Raises JoinRefused, audited too (but for someone already in the cohort, which is no
    attempt at anything), after the transaction rolled back.
    """
    try:
        return _redeem(code=code, user=user, now=now_or(now))
    except JoinRefused as refused:
        if refused.refusal.reason != "already_member":
            audit(
                action="join_code_refused",
                obj=refused.join_code,
                detail={"reason": refused.refusal.reason, "user_id": user.pk},
            )
        raise


@transaction.atomic
def _redeem(*, code: str, user: User, now: datetime) -> Membership:
    """Two people taking a code's last use get one membership between them: the code's
    row is locked for the transaction; so is the person's, so that one person racing two
    codes joins one cohort."""
    User.objects.select_for_update().filter(pk=user.pk).exists()
    digest = code_digest(code)
    join_code = (
        JoinCode.objects.select_for_update(of=("self",))
        .select_related("cohort__program")
        .filter(digest=digest)
        .first()
        if digest
        else None
    )
    refusal = join_refusal(join_code, user, now)
    if refusal is not None:
        raise JoinRefused(refusal, join_code)
    assert join_code is not None  # refused above otherwise
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user, cohort=join_code.cohort, role=Membership.Role.LEARNER
            )
    except IntegrityError:  # staff added them this very moment
        raise JoinRefused(join_refusal(join_code, user, now) or UNKNOWN, join_code) from None
    JoinCode.objects.filter(pk=join_code.pk).update(uses=F("uses") + 1)
    join_code.refresh_from_db(fields=["uses"])
    audit(
        action="join_code_redeemed",
        obj=join_code,
        detail={
            "cohort_id": join_code.cohort_id,
            "membership_id": membership.pk,
            "uses": join_code.uses,
            "max_uses": join_code.max_uses,
        },
    )
    return membership
