#!/usr/bin/env python3
"""Local TCP ports, for scripts/lib.sh (free_port, ensure_port_free). Standard library only.

    scripts/ports.py free         prints a port free on 127.0.0.1 (the kernel's choice)
    scripts/ports.py check PORT   exits 0 when PORT can be listened on, on 0.0.0.0 and on
                                  127.0.0.1; 1 when something holds it
"""

import socket
import sys


def free():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
    return 0


def check(port):
    for host in ("0.0.0.0", "127.0.0.1"):
        with socket.socket() as s:
            # As servers do: a connection in TIME_WAIT does not make the port taken, a listener does.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                return 1
    return 0


def main(args):
    if args == ["free"]:
        return free()
    if len(args) == 2 and args[0] == "check" and args[1].isdigit():
        return check(int(args[1]))
    print("usage: scripts/ports.py free | scripts/ports.py check PORT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
