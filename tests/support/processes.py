"""Find the daemon's work processes from the outside, as `ps` (or an operator) would."""

from __future__ import annotations

import subprocess


def work_processes(daemon_pid: int) -> list[int]:
    """The pids of `daemon_pid`'s spawned work processes (multiprocessing's resource tracker left out)."""
    children = subprocess.run(["pgrep", "-P", str(daemon_pid)], capture_output=True, text=True).stdout.split()
    found = []
    for child in children:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as handle:
                command = handle.read()
        except FileNotFoundError:  # exited meanwhile
            continue
        if b"multiprocessing.spawn" in command and b"resource_tracker" not in command:
            found.append(int(child))
    return found
