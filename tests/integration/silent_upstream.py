"""An upstream whose authorities never answer for one subtree: a UDP forwarder on loopback
that relays every query to a real upstream (NSD) and its answer back, except queries for
names under SILENT, which it reads and drops (what a resolver looks like from the outside
when the authorities of a zone are down).

    /usr/bin/python3 silent_upstream.py LISTEN_ADDR PORT UPSTREAM_ADDR UPSTREAM_PORT SILENT

Started by wardtest.SilentUpstream (by PID, stopped at exit). It forwards asynchronously
(one socket towards the upstream, answers matched by a fresh ID), so a flood of silent
names never delays the others. SIGUSR1 writes its counters to stderr (the log)."""
import random
import select
import signal
import socket
import sys
import time

import dns.message
import dns.name

PENDING_MAX = 65536
PENDING_TTL = 5.0


def main():
    addr, port, up_addr, up_port, silent = sys.argv[1:6]
    silent = dns.name.from_text(silent)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    front = socket.socket(family, socket.SOCK_DGRAM)
    front.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    front.bind((addr, int(port)))
    back = socket.socket(socket.AF_INET6 if ":" in up_addr else socket.AF_INET,
                         socket.SOCK_DGRAM)
    back.connect((up_addr, int(up_port)))
    pending = {}  # our id -> (client address, client id, time)
    counts = {"forwarded": 0, "silent": 0, "answered": 0}

    def report(signum, frame):
        print("counts %s" % counts, file=sys.stderr, flush=True)

    signal.signal(signal.SIGUSR1, report)
    print("listening on %s:%s, silent for %s" % (addr, port, silent), file=sys.stderr, flush=True)
    while True:
        try:
            ready, _, _ = select.select([front, back], [], [], 1.0)
        except InterruptedError:
            continue
        if front in ready:
            on_query(front, back, silent, pending, counts)
        if back in ready:
            on_answer(front, back, pending, counts)
        if len(pending) > PENDING_MAX // 2:
            expire(pending)


def on_query(front, back, silent, pending, counts):
    data, client = front.recvfrom(65535)
    try:
        msg = dns.message.from_wire(data)
    except Exception:
        return
    if msg.question and msg.question[0].name.is_subdomain(silent):
        counts["silent"] += 1
        return
    qid = random.randrange(65536)
    while qid in pending:
        qid = random.randrange(65536)
    pending[qid] = (client, msg.id, time.monotonic())
    back.send(qid.to_bytes(2, "big") + data[2:])
    counts["forwarded"] += 1


def on_answer(front, back, pending, counts):
    data = back.recv(65535)
    if len(data) < 12:
        return
    entry = pending.pop(int.from_bytes(data[:2], "big"), None)
    if entry is None:
        return
    client, cid, _ = entry
    front.sendto(cid.to_bytes(2, "big") + data[2:], client)
    counts["answered"] += 1


def expire(pending):
    now = time.monotonic()
    for qid in [k for k, v in pending.items() if now - v[2] > PENDING_TTL]:
        del pending[qid]


if __name__ == "__main__":
    main()
