"""A minimal DHCPv4 client for the device tests: DISCOVER, OFFER, REQUEST, ACK on one
interface, with a chosen host name (option 12), as a phone or a tablet would send it.

    python3 dhcpclient.py IFACE HOSTNAME      (run inside the client's network namespace)

prints the address the server acknowledged and exits 0, or exits 1 after a timeout. The
server is a real dnsmasq (tests/integration/test_web_devices.py), so the leases file
the test reads is the one dnsmasq itself writes.
"""
import os
import socket
import struct
import sys
import time

MAGIC = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, ACK = 1, 2, 3, 5


def iface_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes(int(x, 16) for x in f.read().strip().split(":"))


def packet(xid, mac, msg_type, hostname, requested=None, server=None):
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                       b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, mac + b"\0" * 10,
                       b"\0" * 64, b"\0" * 128)
    opts = bytes([53, 1, msg_type])
    name = hostname.encode()
    opts += bytes([12, len(name)]) + name
    if requested:
        opts += bytes([50, 4]) + requested
    if server:
        opts += bytes([54, 4]) + server
    opts += bytes([55, 3, 1, 3, 6, 255])
    return head + MAGIC + opts


def options(data):
    out, i = {}, 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, length = data[i], data[i + 1]
        out[code] = data[i + 2:i + 2 + length]
        i += 2 + length
    return out


def exchange(sock, pkt, xid, want, deadline):
    """Send pkt until a reply of type `want` for xid arrives. @return (yiaddr, options)."""
    while time.monotonic() < deadline:
        sock.sendto(pkt, ("255.255.255.255", 67))
        sock.settimeout(0.5)
        try:
            data, _ = sock.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) < 240 or struct.unpack("!I", data[4:8])[0] != xid or data[236:240] != MAGIC:
            continue
        opts = options(data)
        if opts.get(53) == bytes([want]):
            return data[16:20], opts
    raise TimeoutError("no DHCP reply of type %d" % want)


def main():
    iface, hostname = sys.argv[1], sys.argv[2]
    mac = iface_mac(iface)
    xid = int.from_bytes(os.urandom(4), "big")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.bind(("", 68))
    deadline = time.monotonic() + 10
    offered, opts = exchange(s, packet(xid, mac, DISCOVER, hostname), xid, OFFER, deadline)
    acked, _ = exchange(s, packet(xid, mac, REQUEST, hostname, offered, opts.get(54)), xid,
                        ACK, deadline)
    print(socket.inet_ntoa(acked))


if __name__ == "__main__":
    try:
        main()
    except TimeoutError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
