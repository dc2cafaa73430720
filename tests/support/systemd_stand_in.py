"""`systemctl` for the install guide's test, where no systemd runs (stdlib only: run by /usr/bin/python3).

    systemd_stand_in.py STATE daemon-reload | reload UNIT | enable --now UNIT

`daemon-reload` and `reload` do nothing. `enable --now UNIT` does what systemd would do to start
the installed /etc/systemd/system/UNIT.service, as far as it can without being PID 1: it checks the
unit with `systemd-analyze verify`, copies each `LoadCredential=` file into a credentials folder
owned by `User=`, runs each `ExecStartPre=` and then `ExecStart=` as `User=`/`Group=` with
`UMask=` and `AmbientCapabilities=`, in `WorkingDirectory=`, with $CREDENTIALS_DIRECTORY and $NOTIFY_SOCKET (STATE/notify, a
socket the test listens on), and writes the main process's pid to STATE/pid. The sandboxing
directives are not applied.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


def service_settings(unit: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    section = ""
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def start(state: Path, name: str) -> None:
    unit = Path("/etc/systemd/system") / f"{name}.service"
    subprocess.run(["systemd-analyze", "verify", str(unit)], check=True)
    service = service_settings(unit)
    user, group = service["User"][0], service["Group"][0]
    credentials = state / "credentials"
    credentials.mkdir(mode=0o700)
    for entry in service.get("LoadCredential", []):
        credential, _, source = entry.partition(":")
        shutil.copy(source, credentials / credential)
        os.chmod(credentials / credential, 0o400)
        shutil.chown(credentials / credential, user, group)
    shutil.chown(credentials, user, group)
    umask = int(service.get("UMask", ["0022"])[0], 8)
    environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                   "CREDENTIALS_DIRECTORY": str(credentials), "NOTIFY_SOCKET": str(state / "notify")}
    as_user = ["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups"]
    for capability in " ".join(service.get("AmbientCapabilities", [])).split():
        name = capability.lower().removeprefix("cap_")
        as_user += [f"--inh-caps=+{name}", f"--ambient-caps=+{name}"]
    as_user.append("--")
    options = {"cwd": service.get("WorkingDirectory", ["/"])[0], "env": environment,
               "preexec_fn": lambda: os.umask(umask)}
    for command in service.get("ExecStartPre", []):
        subprocess.run(as_user + shlex.split(command), check=True, **options)  # type: ignore[arg-type]
    with open(state / "daemon.log", "ab") as log:
        daemon = subprocess.Popen(as_user + shlex.split(service["ExecStart"][0]), stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=log, start_new_session=True, **options)  # type: ignore[arg-type]
    (state / "pid").write_text(str(daemon.pid))


def main(argv: list[str]) -> int:
    state, command = Path(argv[1]), argv[2:]
    if command in (["daemon-reload"], ["reload", "postfix"]):
        return 0
    if len(command) == 3 and command[:2] == ["enable", "--now"]:
        start(state, command[2])
        return 0
    print(f"systemd_stand_in: not stood in for: systemctl {' '.join(command)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
