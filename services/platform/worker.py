"""Background processes (relays, consumers, sweepers) stop the same way everywhere."""

from __future__ import annotations

import signal
import threading


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM (supervisord stopping us) or SIGINT (Ctrl-C): loops check it and
    finish their current step instead of dying half way."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop
