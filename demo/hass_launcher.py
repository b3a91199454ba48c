"""Start Home Assistant for the demo: `python demo/hass_launcher.py -c <config dir> [hass options]`.

Home Assistant 2026.2 refuses Python below 3.13.2 in its `__main__`; the machines this project
runs on have 3.13.0, on which it runs fine. This launcher skips only that version check. It also
asks Linux to stop Home Assistant when the process that started it dies (scripts/develop killed
hard), so that no orphan keeps the port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: Ctrl-C handling still stops HA
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(1)


def main() -> int:
    """Run Home Assistant's own entry point without its Python version check."""
    _die_with_parent()
    import homeassistant.__main__ as hass_main  # noqa: PLC0415 - after prctl, it is slow

    hass_main.validate_python = lambda: None
    sys.argv = ["hass", *sys.argv[1:]]
    return hass_main.main()


if __name__ == "__main__":
    sys.exit(main())
