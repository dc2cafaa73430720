"""A private Postfix (Debian's `postfix`) in front of the gateway, from its own config folder.

Facts (tests/../test-servers.md): Postfix must be started as root; `postfix -c DIR start-fg` keeps
master in the foreground (~0.5 s to listen, most of it post-install creating the queue folders)
and `postfix -c DIR stop` ends it in ~0.1 s. Its fatal errors go to syslog, not stderr, unless
stderr is a terminal: `maillog_file` (allowed by `maillog_file_prefixes`, written by the postlog
service) is where to look. The folder and its parents need o+x for the `postfix` user, so it is
made under /tmp, not under pytest's 0700 tmp_path.
"""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import subprocess
import time
from pathlib import Path

from tests.support.install import world_readable_temp_dir

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

# Only what a relay for one domain needs; every service unchrooted (no copies of /etc in a jail).
MASTER_CF = """\
{address} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def postfix_available() -> str | None:
    """Why a private Postfix cannot run here, or None."""
    if not Path(POSTFIX).exists():
        return "Postfix is not installed (scripts/test.sh installs Debian's postfix)"
    if os.geteuid() != 0:
        return "Postfix's master must be started as root"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostfix:
    """Postfix on a free loopback port relaying `domain` to `lmtp_target` (e.g. lmtp:inet:127.0.0.1:2424)."""

    def __init__(self, domain: str, lmtp_target: str, recipients: list[str]) -> None:
        self.folder = world_readable_temp_dir("sg-postfix-")
        self.port = free_port()
        self.domain, self.lmtp_target, self.recipients = domain, lmtp_target, recipients
        self.process: subprocess.Popen[bytes] | None = None

    def _write_config(self) -> None:
        d = self.folder
        (d / "queue").mkdir()
        (d / "data").mkdir()
        shutil.chown(d / "data", "postfix")
        recipients = ", ".join(f"{address}=OK" for address in self.recipients)
        (d / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.vendor.example.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtputf8_enable = no
recipient_delimiter = +
relay_domains = {self.domain}
relay_recipient_maps = inline:{{ {recipients} }}
transport_maps = inline:{{ {self.domain}={self.lmtp_target} }}
lmtp_host_lookup = native
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
biff = no
""")
        (d / "master.cf").write_text(MASTER_CF.format(address=f"127.0.0.1:{self.port}"))

    def start(self, timeout: float = 30.0) -> PrivatePostfix:
        self._write_config()
        self.process = subprocess.Popen([POSTFIX, "-c", str(self.folder), "start-fg"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=5):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.02)
        log = self.log()
        self.stop()
        raise RuntimeError(f"Postfix did not start; its log:\n{log}")

    def log(self) -> str:
        path = self.folder / "maillog"
        return path.read_text(errors="replace") if path.exists() else "(no maillog)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            subprocess.run([POSTFIX, "-c", str(self.folder), "stop"], capture_output=True, timeout=30)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
