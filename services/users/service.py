"""Use cases of the users service: each is one transaction that changes state and writes its
events to the outbox together. Handlers in `api.py` call these and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.platform.db import Database
from services.platform.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthorized
from services.platform.utc import as_utc
from services.users import domain, events
from services.users.keys import Keyring
from services.users.schemas import AddressCreate, AddressUpdate, TokenPair, UserRegister, UserUpdate
from services.users.settings import UsersSettings
from services.users.store import (
    Address,
    OneTimeToken,
    RefreshToken,
    User,
    address_of,
    addresses_of,
    clear_default_address,
    list_users,
    new_id,
    one_time_token,
    outbox,
    refresh_token_by_hash,
    revoke_all_of_user,
    revoke_family,
    user_by_email,
    user_by_id,
)

VERIFY, RESET = "verify_email", "password_reset"



class Accounts:
    def __init__(self, *, db: Database, keyring: Keyring, redis: Redis, settings: UsersSettings):
        self.db = db
        self.keyring = keyring
        self.redis = redis
        self.settings = settings
        self.hasher = PasswordHasher()
        # Verified against when the email is unknown, so timing does not reveal accounts.
        self._dummy_hash = self.hasher.hash(domain.new_secret_token())

    # --- registration and credentials -------------------------------------------------
    def _check_strength(self, password: str, *, email: str, name: str | None) -> None:
        verdict = domain.check_password_strength(
            password, user_inputs=[email, email.split("@")[0], name or ""],
            min_score=self.settings.min_password_score,
        )
        if not verdict.ok:
            raise InvalidInput(
                "Choose a stronger password: " + "; ".join(verdict.reasons) + ".",
                slug="weak-password", errors=[{"field": "password", "message": r}
                                              for r in verdict.reasons],
            )

    def register(self, data: UserRegister) -> User:
        email = domain.normalise_email(str(data.email))
        self._check_strength(data.password, email=email, name=data.full_name)
        password_hash = self.hasher.hash(data.password)
        try:
            with self.db.session() as session:
                if user_by_email(session, email):
                    raise Conflict("An account with this email already exists.",
                                   slug="email-taken")
                user = User(id=new_id(), email=email, password_hash=password_hash,
                            full_name=data.full_name, locale=data.locale,
                            marketing_opt_in=data.marketing_opt_in, roles=["customer"])
                session.add(user)
                session.flush()
                outbox.publish(session, events.UserRegistered(
                    user_id=user.id, email=email, full_name=data.full_name, locale=data.locale,
                    marketing_opt_in=data.marketing_opt_in), subject=user.id)
                self._issue_one_time(session, user, VERIFY)
        except IntegrityError as exc:  # lost a race with a concurrent registration
            raise Conflict("An account with this email already exists.", slug="email-taken") from exc
        return user

    def create_admin(self, *, email: str, password: str, full_name: str | None = None) -> User:
        """Promote (or create) an account to admin; used by `shop admin create`."""
        email = domain.normalise_email(email)
        with self.db.session() as session:
            user = user_by_email(session, email)
            if user is None:
                self._check_strength(password, email=email, name=full_name)
                user = User(id=new_id(), email=email, password_hash=self.hasher.hash(password),
                            full_name=full_name, roles=["customer", "admin"],
                            email_verified_at=datetime.now(UTC))
                session.add(user)
                outbox.publish(session, events.UserRegistered(user_id=user.id, email=email,
                                                              full_name=full_name), subject=user.id)
            elif "admin" not in user.roles:
                user.roles = [*user.roles, "admin"]
            session.flush()
            return user

    def _throttle_keys(self, email: str, ip: str) -> tuple[str, str]:
        return f"users:login-fail:acct:{email}", f"users:login-fail:ip:{ip}"

    def _check_throttle(self, email: str, ip: str) -> None:
        acct_key, ip_key = self._throttle_keys(email, ip)
        acct, by_ip = self.redis.mget(acct_key, ip_key)
        s = self.settings
        for key, count, limit in ((acct_key, acct, s.login_max_failures_per_account),
                                  (ip_key, by_ip, s.login_max_failures_per_ip)):
            if count is not None and int(count) >= limit:
                retry = max(1, int(self.redis.ttl(key)))
                raise TooManyRequests(
                    "Too many failed sign-in attempts; try again later.", retry_after=retry,
                    slug="login-throttled")

    def _record_failure(self, email: str, ip: str) -> None:
        window = self.settings.login_failure_window_s
        pipe = self.redis.pipeline()
        for key in self._throttle_keys(email, ip):
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
        pipe.execute()

    def login(self, *, email: str, password: str, ip: str) -> TokenPair:
        email = domain.normalise_email(email)
        self._check_throttle(email, ip)
        with self.db.session() as session:
            user = user_by_email(session, email)
            if not self._password_matches(user.password_hash if user else None, password) or not user:
                self._record_failure(email, ip)
                raise Unauthorized("Wrong email or password.", slug="invalid-credentials")
            if self.hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self.hasher.hash(password)
            self.redis.delete(self._throttle_keys(email, ip)[0])
            return self._new_token_pair(session, user, family_id=new_id())

    def _password_matches(self, password_hash: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash or self._dummy_hash, password) and bool(
                password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def _new_token_pair(self, session: Session, user: User, *, family_id: str) -> TokenPair:
        now = datetime.now(UTC)
        refresh = domain.new_secret_token()
        session.add(RefreshToken(
            id=new_id(), family_id=family_id, user_id=user.id,
            token_hash=domain.hash_token(refresh), issued_at=now,
            expires_at=domain.expiry(now, self.settings.refresh_token_ttl_s)))
        access = self.keyring.issue_access_token(
            user_id=user.id, email=user.email, roles=list(user.roles),
            ttl_seconds=self.settings.access_token_ttl_s)
        return TokenPair(access_token=access, expires_in=self.settings.access_token_ttl_s,
                         refresh_token=refresh)

    def refresh(self, token: str) -> TokenPair:
        """Rotate: the presented token is spent and a new one of the same family returned.
        Presenting a spent token means it was stolen or replayed: the whole family dies."""
        now = datetime.now(UTC)
        reuse = False
        with self.db.session() as session:
            row = refresh_token_by_hash(session, domain.hash_token(token))
            if row is None or row.revoked_at is not None:
                raise Unauthorized("The refresh token is not valid.", slug="invalid-refresh-token")
            if row.used_at is not None:
                revoke_family(session, row.family_id, now)
                reuse = True
            elif as_utc(row.expires_at) <= now:
                raise Unauthorized("The refresh token has expired.", slug="invalid-refresh-token")
            else:
                row.used_at = now
                user = user_by_id(session, row.user_id)
                assert user is not None  # FK with cascade
                return self._new_token_pair(session, user, family_id=row.family_id)
        assert reuse
        raise Unauthorized("This refresh token was already used; the session has been revoked.",
                           slug="refresh-token-reused")

    def logout(self, token: str, user_id: str) -> None:
        with self.db.session() as session:
            row = refresh_token_by_hash(session, domain.hash_token(token))
            if row is None or row.user_id != user_id:
                raise Unauthorized("The refresh token is not valid.", slug="invalid-refresh-token")
            revoke_family(session, row.family_id, datetime.now(UTC))

    def change_password(self, user_id: str, *, current: str, new: str) -> None:
        with self.db.session() as session:
            user = self._user(session, user_id)
            if not self._password_matches(user.password_hash, current):
                raise InvalidInput("The current password is wrong.", slug="wrong-password")
            self._set_password(session, user, new, via="change")

    def _set_password(self, session: Session, user: User, password: str, *, via: str) -> None:
        self._check_strength(password, email=user.email, name=user.full_name)
        user.password_hash = self.hasher.hash(password)
        revoke_all_of_user(session, user.id, datetime.now(UTC))
        outbox.publish(session, events.PasswordChanged(user_id=user.id, via=via), subject=user.id)

    # --- single-use tokens ----------------------------------------------------------
    def _issue_one_time(self, session: Session, user: User, purpose: str) -> None:
        token = domain.new_secret_token()
        ttl = (self.settings.verification_token_ttl_s if purpose == VERIFY
               else self.settings.reset_token_ttl_s)
        expires = domain.expiry(datetime.now(UTC), ttl)
        session.add(OneTimeToken(id=new_id(), user_id=user.id, purpose=purpose,
                                 token_hash=domain.hash_token(token), expires_at=expires))
        event_type = (events.EmailVerificationRequested if purpose == VERIFY
                      else events.PasswordResetRequested)
        outbox.publish(session, event_type(user_id=user.id, email=user.email, token=token,
                                           expires_at=expires, locale=user.locale),
                       subject=user.id)

    def _spend_one_time(self, session: Session, token: str, purpose: str) -> User:
        now = datetime.now(UTC)
        row = one_time_token(session, domain.hash_token(token), purpose)
        if row is None or not domain.is_usable(now=now, expires_at=as_utc(row.expires_at),
                                               used_at=row.used_at):
            raise InvalidInput("The link is invalid, expired or already used.",
                               slug="invalid-token")
        row.used_at = now
        return self._user(session, row.user_id)

    def request_email_verification(self, user_id: str) -> None:
        with self.db.session() as session:
            user = self._user(session, user_id)
            if user.email_verified_at is not None:
                raise Conflict("The email address is already verified.", slug="already-verified")
            self._issue_one_time(session, user, VERIFY)

    def verify_email(self, token: str) -> User:
        with self.db.session() as session:
            user = self._spend_one_time(session, token, VERIFY)
            if user.email_verified_at is None:
                user.email_verified_at = datetime.now(UTC)
                outbox.publish(session, events.EmailVerified(user_id=user.id, email=user.email),
                               subject=user.id)
            return user

    def request_password_reset(self, email: str) -> None:
        """Silent for unknown emails: the answer must not reveal who has an account."""
        with self.db.session() as session:
            user = user_by_email(session, domain.normalise_email(email))
            if user is not None:
                self._issue_one_time(session, user, RESET)

    def reset_password(self, token: str, new_password: str) -> None:
        with self.db.session() as session:
            user = self._spend_one_time(session, token, RESET)
            self._set_password(session, user, new_password, via="reset")

    # --- profile ---------------------------------------------------------------------
    def _user(self, session: Session, user_id: str) -> User:
        user = user_by_id(session, user_id)
        if user is None:
            raise NotFound("No such user.")
        return user

    def get_user(self, user_id: str) -> User:
        with self.db.read() as session:
            return self._user(session, user_id)

    def list_users(self, *, offset: int, limit: int) -> tuple[list[User], int]:
        with self.db.read() as session:
            return list_users(session, offset=offset, limit=limit)

    def update_profile(self, user_id: str, changes: UserUpdate) -> User:
        fields = changes.model_dump(exclude_unset=True)
        with self.db.session() as session:
            user = self._user(session, user_id)
            for key, value in fields.items():
                setattr(user, key, value)
            if fields:
                outbox.publish(session, events.ProfileUpdated(user_id=user_id,
                                                              fields=sorted(fields)),
                               subject=user_id)
            session.flush()
            return user

    def set_roles(self, user_id: str, roles: list[str]) -> User:
        with self.db.session() as session:
            user = self._user(session, user_id)
            user.roles = sorted(set(roles))
            session.flush()
            return user

    # --- addresses ---------------------------------------------------------------------
    def addresses(self, user_id: str) -> list[Address]:
        with self.db.read() as session:
            return addresses_of(session, user_id)

    def address(self, user_id: str, address_id: str) -> Address:
        with self.db.read() as session:
            return self._address(session, user_id, address_id)

    def _address(self, session: Session, user_id: str, address_id: str) -> Address:
        found = address_of(session, user_id, address_id)
        if found is None:
            raise NotFound("No such address.")
        return found

    def add_address(self, user_id: str, data: AddressCreate) -> Address:
        with self.db.session() as session:
            self._user(session, user_id)
            first = not addresses_of(session, user_id)
            make_default = data.is_default or first
            if make_default:
                clear_default_address(session, user_id)
            address = Address(id=new_id(), user_id=user_id,
                              **data.model_dump(exclude={"is_default"}), is_default=make_default)
            session.add(address)
            session.flush()
            return address

    def update_address(self, user_id: str, address_id: str, data: AddressUpdate) -> Address:
        fields = data.model_dump(exclude_unset=True)
        with self.db.session() as session:
            address = self._address(session, user_id, address_id)
            for required in ("recipient", "line1", "city", "postcode", "country"):
                if required in fields and fields[required] is None:
                    raise InvalidInput(f"{required} cannot be empty.", slug="validation-error")
            if fields.pop("is_default", None):
                clear_default_address(session, user_id)
                address.is_default = True
            for key, value in fields.items():
                setattr(address, key, value)
            session.flush()
            return address

    def delete_address(self, user_id: str, address_id: str) -> None:
        with self.db.session() as session:
            address = self._address(session, user_id, address_id)
            was_default = address.is_default
            session.delete(address)
            session.flush()
            if was_default:  # promote the oldest remaining address
                remaining = addresses_of(session, user_id)
                if remaining:
                    remaining[0].is_default = True
