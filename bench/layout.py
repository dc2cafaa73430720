"""How the code is laid out, in figures: modules per folder, the largest modules, function length,
and the project files one customer mail passes through from the SMTP socket to the outbox.

    .venv/bin/python bench/layout.py            # figures
    .venv/bin/python bench/layout.py --files    # and the traced files, in the order the mail meets them

The trace runs the real daemon in this process (`work_process = false`, SQLite in a temporary
folder), sends one mail from a known contact over SMTP and records every call into a project
file until the acknowledgement is an outbox row; the files met after that (the sender) are
listed apart.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import SUPPORT, sample_mail, settings_text  # noqa: E402

PACKAGES = ("gateway", "parsers", "store")


def module_figures() -> None:
    per_folder: Counter[str] = Counter()
    sizes: list[tuple[int, str]] = []
    functions: list[int] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            relative = path.relative_to(ROOT)
            per_folder[str(relative.parent) + "/"] += 1
            sizes.append((len(text.splitlines()), str(relative)))
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    functions.append(node.end_lineno - node.lineno + 1)  # type: ignore[operator]
    print("modules per folder (migrations left out):")
    for folder, count in sorted(per_folder.items()):
        print(f"  {folder:<22} {count:>3}")
    print(f"  {'all':<22} {sum(per_folder.values()):>3}")
    sizes.sort(reverse=True)
    print("largest modules: " + ", ".join(f"{name} {lines}" for lines, name in sizes[:5]))
    print(f"modules over 300 lines: {sum(1 for lines, _ in sizes if lines > 300)}")
    print(f"functions: {len(functions)}, median length {statistics.median(functions):.0f} lines, "
          f"mean {statistics.mean(functions):.1f}, longest {max(functions)}")


def _serve() -> tuple[object, object]:
    """Import serve/Ready from wherever the daemon lives (the layout moves; the figures compare)."""
    try:
        from gateway.daemon.serve import Ready, serve  # type: ignore[import-not-found]
    except ImportError:
        from gateway.daemon import Ready, serve  # type: ignore[no-redef]
    return serve, Ready


def trace_one_mail(show: bool) -> None:
    from gateway.settings import load_settings

    serve, _ = _serve()
    folder = Path(tempfile.mkdtemp(prefix="sg-layout-"))
    config = folder / "gateway.toml"
    text = settings_text(folder / "var", f"sqlite:///{folder / 'gateway.db'}")
    config.write_text(text.replace("[gateway]\n", "[gateway]\nwork_process = false\n", 1), encoding="utf-8")
    settings = load_settings(config)
    ready = threading.Event()
    state: dict[str, object] = {}
    root = str(ROOT)
    order: list[str] = []
    entered: Counter[str] = Counter()
    last = {"file": ""}
    tracing = {"on": False, "phase": "intake"}
    after_outbox: list[str] = []

    def profile(frame, event, arg):  # noqa: ANN001
        if event != "call" or not tracing["on"]:
            return
        name = frame.f_code.co_filename
        if not name.startswith(root) or not name.endswith(".py"):
            return
        relative = name[len(root) + 1:]
        if relative.split("/", 1)[0] not in PACKAGES:
            return
        if relative != last["file"]:
            entered[relative] += 1
            last["file"] = relative
        if tracing["phase"] == "intake" and relative not in order:
            order.append(relative)
        elif tracing["phase"] == "sent" and relative not in order and relative not in after_outbox:
            after_outbox.append(relative)

    async def main() -> None:
        stop = asyncio.Event()
        state["loop"], state["stop"] = asyncio.get_running_loop(), stop

        def on_ready(info: object) -> None:
            state["port"] = info.smtp_port  # type: ignore[attr-defined]
            ready.set()

        await serve(settings, stop=stop, on_ready=on_ready)

    threading.setprofile(profile)
    sys.setprofile(profile)
    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(30)
    time.sleep(0.5)  # let start-up work settle before the trace begins
    outbox_dir = settings.outbox_folder
    from sqlalchemy import create_engine, text as sql

    engine = create_engine(f"sqlite:///{folder / 'gateway.db'}")
    tracing["on"] = True
    with smtplib.SMTP("127.0.0.1", state["port"]) as client:  # type: ignore[arg-type]
        client.sendmail("user0@example.test", [SUPPORT], sample_mail(0))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(sql("SELECT count(*) FROM outbox")).scalar():
                break
        time.sleep(0.005)
    tracing["phase"] = "sent"
    while time.monotonic() < deadline and not any(outbox_dir.glob("*.eml")):
        time.sleep(0.01)
    tracing["on"] = False
    sys.setprofile(None)
    threading.setprofile(None)  # type: ignore[arg-type]
    state["loop"].call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
    thread.join(30)
    print(f"one customer mail, socket → outbox row: {len(order)} project files; "
          f"then {len(after_outbox)} more to the .eml on disk")
    busiest = entered.most_common(6)
    print("files entered most often: " + ", ".join(f"{name} {count}x" for name, count in busiest))
    letters = {name: count for name, count in entered.items() if name.endswith(("effects.py", "letters.py"))}
    print("entered from another file: " + ", ".join(f"{name} {count}x" for name, count in sorted(letters.items())))
    if show:
        print("  " + "\n  ".join(order))
        print("  -- after the outbox row --\n  " + "\n  ".join(after_outbox))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", action="store_true", help="list the traced files in order")
    args = parser.parse_args()
    module_figures()
    trace_one_mail(args.files)


if __name__ == "__main__":
    main()
