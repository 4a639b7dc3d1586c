"""One log stream for `shop up`: every program's output, line by line, prefixed by its name.

supervisord emits PROCESS_LOG events for each program's output; this trivial event listener
acknowledges them, and `event_handler` (which supervisord runs in its own process, on its own
stdout) prints the lines with a coloured `name |` prefix. State changes (a crash, a restart
after backoff) are printed the same way.
"""

from __future__ import annotations

import sys
from typing import Any

COLOURS = [36, 32, 33, 35, 34, 91, 92, 93, 94, 95, 96]
_assigned: dict[str, int] = {}
WIDTH = 16


def _prefix(name: str) -> str:
    label = f"{name:<{WIDTH}}|"
    if not sys.stdout.isatty():
        return label
    colour = _assigned.setdefault(name, COLOURS[len(_assigned) % len(COLOURS)])
    return f"\x1b[{colour}m{label}\x1b[0m"


def event_handler(event: Any, response: bytes) -> None:
    """Runs inside supervisord for each event the listener acknowledged."""
    from supervisor.events import ProcessLogEvent, ProcessStateEvent, getEventNameByType

    if isinstance(event, ProcessLogEvent):
        name = event.process.config.name
        text = event.data.decode("utf-8", "replace") if isinstance(event.data, bytes) else event.data
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            prefix = _prefix(name)
            sys.stdout.write("".join(f"{prefix} {line}\n" for line in lines))
            sys.stdout.flush()
    elif isinstance(event, ProcessStateEvent):
        state = getEventNameByType(type(event)).removeprefix("PROCESS_STATE_")
        if state in {"EXITED", "BACKOFF", "FATAL", "RUNNING"}:
            name = event.process.config.name
            sys.stdout.write(f"{_prefix(name)} [supervisor] {state.lower()}\n")
            sys.stdout.flush()


def main() -> None:
    """The event listener process: acknowledge every event (the handler does the printing)."""
    from supervisor import childutils

    while True:
        headers, _payload = childutils.listener.wait(sys.stdin, sys.stdout)
        childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
