"""Accounts: sign-up and log-in (`users`), Argon2id `passwords`, JWT `tokens` and their
`revocation` cache, `password_reset` by email (`mail/`), a person's `own_events`, and the
`background` queue that sends mail after the response has gone.
"""

from everreach.accounts.background import JobQueue
from everreach.accounts.mail.mailer import Mailer, build_backend
from everreach.accounts.own_events import MAX_PAGE, EventsPage, user_events_page
from everreach.accounts.password_reset import PasswordResets, ResetLimits, parse_token
from everreach.accounts.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHasher
from everreach.accounts.revocation import AccountStates
from everreach.accounts.tokens import Claims, InvalidToken, TokenCodec, signing_key
from everreach.accounts.users import (
    Account,
    Accounts,
    LoginLimits,
    create_admin_account,
    login_limits,
)

__all__ = [
    "MAX_LENGTH",
    "MAX_PAGE",
    "MIN_LENGTH",
    "Account",
    "AccountStates",
    "Accounts",
    "Claims",
    "EventsPage",
    "InvalidToken",
    "JobQueue",
    "LoginLimits",
    "Mailer",
    "PasswordHasher",
    "PasswordResets",
    "ResetLimits",
    "TokenCodec",
    "build_backend",
    "create_admin_account",
    "login_limits",
    "parse_token",
    "signing_key",
    "user_events_page",
]
