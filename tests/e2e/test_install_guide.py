"""README's "Installing on Debian", run word by word (issue 12): every ```sh install block, in order.

As root, in a private mount namespace with overlays on /etc, /opt, /usr and /var/lib, so the
machine is left as it was; `systemctl` is tests/support/systemd_stand_in.py (it verifies the unit and starts
it as systemd would, without the sandboxing). The guide's Postfix block edits a stand-in
/etc/postfix/main.cf (Debian's main.cf.debian: the MX that is already there); the Postfix in front
is exercised for real by tests/e2e/test_lmtp_intake.py. Then one mail goes in over the LMTP port the
installed settings name, and the installed command line shows the incident.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.test_lmtp_intake import LmtpClient
from tests.support.install import ROOT, copy_sources, world_readable_temp_dir
from tests.support.mails import customer_mail

STAND_IN = ROOT / "tests" / "support" / "systemd_stand_in.py"
BLOCK = re.compile(r"^```sh install\n(.*?)^```", re.MULTILINE | re.DOTALL)


def guide_blocks() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def _cannot_run() -> str | None:
    if os.geteuid() != 0:
        return "the guide is for root (and the test needs root for its mount namespace)"
    for tool in ("unshare", "nsenter", "setpriv", "systemd-analyze", "postmap", "adduser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    for port in (24, 2525):  # the example's LMTP and SMTP ports
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return f"127.0.0.1:{port} is in use on this machine"
    return None


def test_the_guide_has_a_step_for_each_part_of_the_install() -> None:
    guide = "\n".join(guide_blocks())
    for step in ("adduser --system", "python3 -m venv /opt/support-gateway", "-m 0640", "-m 0700 /var/lib/support-gateway",
                 "db upgrade", "/etc/support-gateway/credentials/relay", "systemctl enable --now support-gateway",
                 "lmtp:inet:127.0.0.1:24", "transport_maps"):
        assert step in guide, step


@pytest.mark.skipif(_cannot_run() is not None, reason=str(_cannot_run()))
def test_the_install_guide_run_word_by_word_gives_a_service_that_takes_mail() -> None:
    state = world_readable_temp_dir("sg-guide-")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(state / "notify"))
    os.chmod(state / "notify", 0o777)
    notify.settimeout(60)
    pid = None
    try:
        sources = copy_sources(state / "src")
        (state / "guide.sh").write_text("\n".join(guide_blocks()), encoding="utf-8")
        outer = f"""set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin  # a Debian root shell's, whatever this one has
for d in etc opt usr var/lib; do
  mkdir -p {state}/overlay/$d/upper {state}/overlay/$d/work
  mount -t overlay overlay -o lowerdir=/$d,upperdir={state}/overlay/$d/upper,workdir={state}/overlay/$d/work /$d
done
mkdir -p /etc/postfix && cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
systemctl() {{ /usr/bin/python3 {STAND_IN} {state} "$@"; }}
export -f systemctl
cd {sources}
bash -euxo pipefail {state}/guide.sh
stat -c '%n %a %U %G' /etc/support-gateway /etc/support-gateway/gateway.toml /etc/support-gateway/credentials \
  /var/lib/support-gateway /var/lib/support-gateway/gateway.db > {state}/modes
postmap -q support.example.test hash:/etc/postfix/transport > {state}/postfix
postmap -q support@support.example.test hash:/etc/postfix/support-recipients >> {state}/postfix
postconf -h relay_recipient_maps >> {state}/postfix
"""
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", outer],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
        pid = int((state / "pid").read_text())
        try:
            ready = notify.recv(4096)
        except TimeoutError:
            ready = b"(nothing)"
        assert ready == b"READY=1", (state / "daemon.log").read_text()
        modes = dict(line.split(" ", 1) for line in (state / "modes").read_text().splitlines())
        assert modes["/etc/support-gateway/gateway.toml"] == "640 root support-gateway"
        assert modes["/etc/support-gateway/credentials"] == "700 root root"
        assert modes["/var/lib/support-gateway"] == "700 support-gateway support-gateway"
        assert modes["/var/lib/support-gateway/gateway.db"] == "600 support-gateway support-gateway"
        assert (state / "postfix").read_text().splitlines() == [
            "lmtp:inet:127.0.0.1:24", "OK", "hash:/etc/postfix/support-recipients"]
        client = LmtpClient(("127.0.0.1", 24))
        client.command("LHLO mx.vendor.example.test")
        client.command("MAIL FROM:<alice@example.test>")
        client.command("RCPT TO:<support@support.example.test>")
        assert [code for code, _ in client.data(customer_mail(subject="Installed by the guide"), replies=1)] == [250]
        client.close()
        listing = ""
        deadline = time.monotonic() + 30
        while "INC-000001" not in listing and time.monotonic() < deadline:
            listing = subprocess.run(
                ["nsenter", f"--target={pid}", "--mount", "--", "setpriv", "--reuid=support-gateway",
                 "--regid=support-gateway", "--init-groups", "--", "/opt/support-gateway/bin/support-gateway",
                 "--config", "/etc/support-gateway/gateway.toml", "incidents", "list"],
                capture_output=True, text=True, timeout=60).stdout
            time.sleep(0.2)
        assert "INC-000001" in listing and "Installed by the guide" in listing, listing
    finally:
        if pid is not None:
            _stop(pid)
        notify.close()
        subprocess.run(["rm", "-rf", str(state)], check=False)


def _stop(pid: int) -> None:
    """SIGTERM as `systemctl stop` would, SIGKILL after the unit's TimeoutStopSec."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 50
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGKILL)
