"""The log-in service enforces its own delay (per username and per counter) and lock-out: an
attempt during the delay or on a locked account is refused without running argon2."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sqlmodel import select

from counter_tui import config
from counter_tui.db.models import AccessEvent, utcnow
from counter_tui.services import access_log, auth
from tests.support.factories import PASSWORD, TinyArchive, add_admin, tiny_archive


class CountingHasher:
    """The real argon2 hasher, counting its verifications."""

    def __init__(self, real) -> None:  # noqa: ANN001
        self.real = real
        self.verified = 0

    def verify(self, hashed: str, password: str) -> bool:
        self.verified += 1
        return self.real.verify(hashed, password)

    def hash(self, password: str) -> str:
        return self.real.hash(password)


class Clock:
    """The service's clock (and the access log's), moved by hand."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=self.offset)

    def wait(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(auth, "_now", moved)
    monkeypatch.setattr(access_log, "utcnow", moved)  # events are stamped on the same clock
    return moved


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(auth._hasher)
    monkeypatch.setattr(auth, "_hasher", counting)
    return counting


@pytest.fixture
def archive(tmp_path: Path) -> TinyArchive:
    return tiny_archive(tmp_path)


def refused(archive: TinyArchive, username: str, password: str, **kw: object) -> auth.AuthError:
    with pytest.raises(auth.AuthError) as info:
        auth.authenticate(archive.db, username, password, **kw)  # type: ignore[arg-type]
    return info.value


def kinds(archive: TinyArchive) -> list[str]:
    with archive.db.read() as s:
        return [
            e.kind
            for e in s.exec(
                select(AccessEvent)
                .where(AccessEvent.kind.startswith("login"))
                .order_by(AccessEvent.seq)
            )
        ]


def test_during_the_delay_even_the_right_password_is_refused_unchecked(
    archive: TinyArchive, clock: Clock, hasher: CountingHasher
) -> None:
    assert refused(archive, "clerk1", "wrong one").delay_s == 1.0
    assert hasher.verified == 1
    started = time.perf_counter()
    error = refused(archive, "clerk1", PASSWORD)
    took = time.perf_counter() - started
    assert error.reason == "throttled"
    assert hasher.verified == 1  # argon2 did not run
    assert 0 < error.retry_after_s <= 1.0
    # An argon2 check takes tens of milliseconds; a refusal without it is a few queries.
    assert took < 0.1, took
    clock.wait(1.0)
    assert auth.authenticate(archive.db, "clerk1", PASSWORD).clerk.username == "clerk1"
    assert hasher.verified == 2
    # Throttled attempts are logged but are not failures: the count was not raised by them.
    assert kinds(archive) == ["login_failed", "login_throttled", "login"]


def test_the_delay_grows_and_is_counted_per_username_and_per_counter(
    archive: TinyArchive, clock: Clock, hasher: CountingHasher
) -> None:
    # Wrong passwords for three usernames at counter 1, each after the delay has passed.
    for n, username in enumerate(["clerk1", "super1", "audit1"], start=1):
        error = refused(archive, username, "wrong one")
        assert (error.reason, error.delay_s) == ("wrong_password", auth.failure_delay(n))
        clock.wait(error.delay_s)
    # Counter 1 has three failures behind it: a fourth there, whoever it is, waits 8 s ...
    assert refused(archive, "clerk2", "wrong one").delay_s == 8.0
    assert refused(archive, "clerk2", PASSWORD).reason == "throttled"
    # ... while clerk2 at counter 2 has failed once: one second there.
    assert refused(archive, "clerk2", PASSWORD, counter="2").reason == "throttled"
    clock.wait(1.0)
    assert auth.authenticate(archive.db, "clerk2", PASSWORD, counter="2")
    # clerk1 at another counter: its own single failure long past, no wait.
    assert auth.authenticate(archive.db, "clerk1", PASSWORD, counter="3")
    verified = hasher.verified
    assert refused(archive, "super1", PASSWORD).reason == "throttled"  # counter 1 still waits
    assert hasher.verified == verified


def test_names_that_are_no_account_share_one_delay(
    archive: TinyArchive, clock: Clock, hasher: CountingHasher
) -> None:
    assert refused(archive, "nobody", PASSWORD).reason == "wrong_password"
    assert refused(archive, "nobody else", PASSWORD, counter="2").reason == "throttled"
    with archive.db.read() as s:
        reasons = [
            e.reason
            for e in s.exec(select(AccessEvent).where(AccessEvent.kind.startswith("login")))
        ]
    assert reasons == [auth.UNKNOWN_USER, auth.UNKNOWN_USER]


def test_lock_out_after_the_configured_failures_until_an_administrator_enables(
    archive: TinyArchive, clock: Clock, hasher: CountingHasher
) -> None:
    admin = add_admin(archive)
    for _ in range(2):
        error = refused(archive, "clerk1", "wrong one", lockout_failures=3, counter="a")
        assert error.reason == "wrong_password"
        clock.wait(error.delay_s)
    third = refused(archive, "clerk1", "wrong one", lockout_failures=3, counter="a")
    assert third.reason == "locked" and "user enable" in str(third)
    clock.wait(60)  # long past any delay
    verified = hasher.verified
    # Locked: refused without argon2, even with the right password, at any counter.
    for counter in ("a", "b"):
        error = refused(archive, "clerk1", PASSWORD, lockout_failures=3, counter=counter)
        assert error.reason == "locked" and error.retry_after_s > 60
    assert hasher.verified == verified
    # Other accounts are not affected.
    assert auth.authenticate(archive.db, "clerk2", PASSWORD, lockout_failures=3, counter="b")
    # `counter-tui user enable clerk1` lifts it (an active account may be enabled again).
    auth.set_active(archive.db, "clerk1", True, actor=admin)
    assert auth.authenticate(archive.db, "clerk1", PASSWORD, lockout_failures=3, counter="a")
    assert kinds(archive).count("login_locked") == 2


def test_lock_out_lifts_by_itself_after_the_time_out(
    archive: TinyArchive, clock: Clock, hasher: CountingHasher
) -> None:
    for _ in range(3):
        error = refused(archive, "clerk1", "wrong one", lockout_failures=3)
        clock.wait(error.delay_s)
    assert refused(archive, "clerk1", PASSWORD, lockout_failures=3).reason == "locked"
    clock.wait(auth.LOCKOUT_S)
    assert auth.authenticate(archive.db, "clerk1", PASSWORD, lockout_failures=3)


def test_a_new_password_from_the_administrator_also_lifts_it(
    archive: TinyArchive, clock: Clock
) -> None:
    admin = add_admin(archive)
    for _ in range(3):
        error = refused(archive, "clerk1", "wrong one", lockout_failures=3)
        clock.wait(error.delay_s)
    auth.set_password(archive.db, "clerk1", "fresh password 1", actor=admin)
    assert auth.authenticate(archive.db, "clerk1", "fresh password 1", lockout_failures=3)


def test_unknown_names_are_delayed_but_never_locked(archive: TinyArchive, clock: Clock) -> None:
    for _ in range(4):
        error = refused(archive, "nobody", "wrong one", lockout_failures=2)
        assert error.reason == "wrong_password"
        clock.wait(error.delay_s)


def test_the_lock_out_threshold_is_a_setting() -> None:
    assert config.Settings().login_lockout_failures == auth.LOCKOUT_FAILURES == 10
    loaded = config.load(environ={"COUNTER_TUI_LOGIN_LOCKOUT_FAILURES": "5"})
    assert loaded.login_lockout_failures == 5
    for bad in ("0", "-3", "ten", "2.5"):
        with pytest.raises(config.SettingsError):
            config.load(environ={"COUNTER_TUI_LOGIN_LOCKOUT_FAILURES": bad})
