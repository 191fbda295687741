#!/usr/bin/env python3
"""The IPv4 address of a network interface, for scripts/docker.sh (docker_bridge_gateway, when
Docker does not report the bridge's gateway). Standard library only: `ip` may not be installed.

    scripts/interface-address.py IFNAME   prints the address; prints nothing and exits 1 when
                                          the interface does not exist or has no IPv4 address
"""

import fcntl
import socket
import struct
import sys

SIOCGIFADDR = 0x8915


def main(args):
    if len(args) != 1:
        print("usage: scripts/interface-address.py IFNAME", file=sys.stderr)
        return 2
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", args[0][:15].encode()))
        except OSError:
            return 1
    print(socket.inet_ntoa(packed[20:24]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
