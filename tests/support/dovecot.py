"""A private Dovecot for the IMAP tests: real server, loopback only, one per test session (or per test).

Configured as measured in shared/spec/test-servers.md: foreground `dovecot -F`
under Popen (daemon mode with captured pipes hangs), SIGKILL to stop (instant;
the children exit by themselves), and as root the login and mail processes run
as `dovenull`/`mail` because Dovecot refuses uid 0 (and silently retries for a
minute if asked). Every parent directory needs o+x, so the directory is made
with `tempfile.mkdtemp()` under /tmp and opened to 0755, never under pytest's
0700 `tmp_path`. Each test gets its own user, so one server serves the session.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
STARTUP_SECONDS = 15.0
USER_POOL = 200
USER_PASSWORD = "secret"
PASSWORD_ENV = "SG_TEST_IMAP_PASSWORD"  # the [[imap]] password_env the helpers write


@dataclass(frozen=True)
class MailUser:
    name: str
    password: str
    home: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _owner() -> tuple[int, int, str, str]:
    """(uid, gid, internal user, login user) the mail and the helper processes run as."""
    if os.geteuid() == 0:
        mail = pwd.getpwnam("mail")
        return mail.pw_uid, mail.pw_gid, "dovecot", "dovenull"
    me = pwd.getpwuid(os.geteuid())
    return me.pw_uid, me.pw_gid, me.pw_name, me.pw_name


class Dovecot:
    """One private Dovecot instance: start, stop (SIGKILL), start again on the same port."""

    def __init__(self, *, idle_check_seconds: int = 30, auth_mechanisms: str = "plain login",
                 extra_config: str = "") -> None:
        if DOVECOT is None:
            raise RuntimeError("dovecot is not installed (make test installs dovecot-imapd)")
        self.dir = Path(tempfile.mkdtemp(prefix="sg-dovecot-"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.uid, self.gid, internal, login = _owner()
        (self.dir / "home").mkdir(mode=0o755)
        os.chown(self.dir / "home", self.uid, self.gid)
        # Users are written before the start: Dovecot re-reads a changed passwd-file only now and
        # then, so a user added while it runs may fail to log in for a moment. add_user() hands
        # them out one by one.
        self._pool = [f"u{uuid.uuid4().hex[:10]}" for _ in range(USER_POOL)]
        self.users_file = self.dir / "users"
        self.users_file.write_text("".join(
            f"{name}:{{PLAIN}}{USER_PASSWORD}:{self.uid}:{self.gid}::{self.dir / 'home' / name}::\n"
            for name in self._pool), encoding="utf-8")
        self.users_file.chmod(0o644)
        self.config = self.dir / "dovecot.conf"
        config = self._config(internal, login, idle_check_seconds).replace(
            "auth_mechanisms = plain login", f"auth_mechanisms = {auth_mechanisms}")
        self.config.write_text(config + extra_config, encoding="utf-8")
        self.log = self.dir / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _config(self, internal: str, login: str, idle_check_seconds: int) -> str:
        d = self.dir
        return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {self.uid}
first_valid_gid = {self.gid}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 500
mailbox_idle_check_interval = {idle_check_seconds} secs
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_file}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.users_file}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Processed {{
    auto = no
  }}
}}
"""

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Dovecot:
        self._wait_port_free()
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() takes the sessions down too
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self._greets():
                return self
            time.sleep(0.02)
        log = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
        self.stop()
        raise RuntimeError(f"dovecot did not start on port {self.port}; {self.log}:\n{log}")

    def stop(self) -> None:
        """SIGKILL to the whole process group: instant, like a crash or a reboot of the server.

        Killing only the master leaves logged-in imap processes serving their
        connections (measured), so a client would never notice the outage.
        """
        if self._process is not None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._process.wait(10)
        self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _greets(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                return conn.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def _wait_port_free(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", self.port))
                    return
                except OSError:
                    time.sleep(0.05)

    # -- users and mail --------------------------------------------------------------------------

    def add_user(self) -> MailUser:
        """A fresh user with an empty mailbox (from the pool written at start-up)."""
        if not self._pool:
            raise RuntimeError(f"all {USER_POOL} test users of this Dovecot are taken")
        name = self._pool.pop()
        home = self.dir / "home" / name
        home.mkdir(mode=0o700)
        os.chown(home, self.uid, self.gid)
        return MailUser(name, USER_PASSWORD, home)

    def account(self, user: MailUser, **overrides: Any) -> dict[str, Any]:
        """An [[imap]] settings entry for this server and user (password from PASSWORD_ENV)."""
        return {"name": "support", "host": "127.0.0.1", "port": self.port, "security": "plain",
                "user": user.name, "password_env": PASSWORD_ENV, "poll_interval": 0.2, "timeout": 10,
                **overrides}

    @contextmanager
    def client(self, user: MailUser, mailbox: str | None = None) -> Iterator[IMAPClient]:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        try:
            client.login(user.name, user.password)
            if mailbox is not None:
                client.select_folder(mailbox)
            yield client
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the server may be gone in a restart test
                client.shutdown()

    def append(self, user: MailUser, mails: Iterable[bytes], mailbox: str = "INBOX",
               flags: tuple[bytes, ...] = ()) -> list[int]:
        """APPEND each mail (RFC 3501 §6.3.11); return the UIDs from APPENDUID (RFC 4315)."""
        uids = []
        with self.client(user) as client:
            if mailbox != "INBOX" and not client.folder_exists(mailbox):
                client.create_folder(mailbox)
            for raw in mails:
                reply = client.append(mailbox, raw, flags=flags)
                uids.append(int(reply.split(b"]")[0].split()[-1]))
        return uids

    def append_many(self, user: MailUser, mails: list[bytes], mailbox: str = "INBOX", chunk: int = 250) -> None:
        """MULTIAPPEND (RFC 3502) in chunks: thousands of mails in a few seconds."""
        with self.client(user) as client:
            for start in range(0, len(mails), chunk):
                client.multiappend(mailbox, mails[start:start + chunk])

    def uids(self, user: MailUser, mailbox: str = "INBOX") -> list[int]:
        with self.client(user) as client:
            if not client.folder_exists(mailbox):
                return []
            client.select_folder(mailbox, readonly=True)
            return sorted(client.search(["ALL"]))

    def flags(self, user: MailUser, mailbox: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        with self.client(user) as client:
            client.select_folder(mailbox, readonly=True)
            uids = client.search(["ALL"])
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()} if uids else {}

    def uidvalidity(self, user: MailUser, mailbox: str = "INBOX") -> int:
        with self.client(user) as client:
            return int(client.folder_status(mailbox, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def recreate_mailbox(self, user: MailUser, mailbox: str) -> None:
        """DELETE then CREATE: the server must hand out a new UIDVALIDITY (RFC 3501 §2.3.1.1)."""
        with self.client(user) as client:
            client.delete_folder(mailbox)
            client.create_folder(mailbox)

    def message_files(self, user: MailUser, mailbox: str = "INBOX") -> list[Path]:
        """The mailbox's Maildir files in UID order, as Dovecot's own UID map (dovecot-uidlist) says.

        Never in file-name order: Dovecot names a file `<seconds>.M<microseconds>P<pid>...` with the
        microseconds not zero-padded, so `...M95219P...` (0.095 s) sorts after `...M101500P...`
        (0.101 s), and a file may sit in new/ or cur/. Sorted names put mails appended across such
        an instant out of order (measured: 3 in 150 three-mail APPENDs idle, 8 in 150 under CPU load).
        """
        folder = self._maildir(user, mailbox)
        by_base = {_maildir_base(path.name): path for sub in ("cur", "new") for path in (folder / sub).iterdir()}
        return [by_base[base] for _uid, base in sorted(self._uid_map(folder).items()) if base in by_base]

    def message_file(self, user: MailUser, uid: int, mailbox: str = "INBOX") -> Path:
        """The Maildir file that holds message `uid` (looked up in dovecot-uidlist)."""
        folder = self._maildir(user, mailbox)
        base = self._uid_map(folder)[uid]
        [path] = [path for sub in ("cur", "new") for path in (folder / sub).iterdir()
                  if _maildir_base(path.name) == base]
        return path

    @staticmethod
    def _maildir(user: MailUser, mailbox: str) -> Path:
        base = user.home / "Maildir"
        return base if mailbox == "INBOX" else base / f".{mailbox.replace('/', '.')}"

    @staticmethod
    def _uid_map(folder: Path) -> dict[int, str]:
        """UID → file base name, from dovecot-uidlist (v3: a header line, then `UID [ext...] :NAME`).

        Dovecot records an APPENDed mail's UID there before it answers APPENDUID.
        """
        lines = (folder / "dovecot-uidlist").read_text(encoding="utf-8").splitlines()[1:]
        return {int(line.split(maxsplit=1)[0]): _maildir_base(line.split(":", 1)[1]) for line in lines if ":" in line}

    def login_failures(self) -> int:
        """How many failed logins the server has logged (to count retries against a wrong password)."""
        if not self.log.exists():
            return 0
        text = self.log.read_text(errors="replace")
        return text.count("auth failed")


def _maildir_base(name: str) -> str:
    """A Maildir file name without its `,S=...,W=...` sizes and `:2,FLAGS` info: what stays fixed."""
    return name.split(":", 1)[0].split(",", 1)[0]


# -- pytest fixtures: import them into a test module (`from tests.support.dovecot import dovecot, ...`) --


def require_dovecot() -> None:
    if DOVECOT is None:
        pytest.skip("dovecot is not installed: `make test` installs Debian's dovecot-imapd")


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot shared by a test module; each test gets its own user (mailbox) on it."""
    require_dovecot()
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def private_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of the test's own, for tests that stop and start the server."""
    require_dovecot()
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def mail_user(dovecot: Dovecot) -> MailUser:
    return dovecot.add_user()


def settings_toml(data: dict[str, Any]) -> str:
    """A settings mapping (as tests.conftest.settings_dict builds it) as a TOML file, for daemons run
    as real subprocesses. JSON scalars and arrays are valid TOML values; mappings become inline tables."""
    lines = []
    for section, body in data.items():
        if body is None:
            continue
        tables = body if isinstance(body, list) else [body]
        for table in tables:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in table.items() if value is not None]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)} = {_toml_value(item)}" for key, item in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False, default=str)
