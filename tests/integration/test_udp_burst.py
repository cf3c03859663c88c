"""A burst of UDP queries that arrives while wardd is off the CPU waits in its socket and is
answered, not dropped by the kernel (issue 7, section 4: the soak lost legitimate queries
on a busy machine when the workers were descheduled for a moment, because each UDP socket
had the default receive buffer, room for about 256 small datagrams). wardd now asks for
4 MiB per UDP socket, room for about 10,000, and logs what the kernel granted.

The burst is sent while wardd is stopped (SIGSTOP), which is what a descheduled worker
looks like from the socket, and every query must be answered once it runs again.

When it stops, wardd logs what became of every UDP query it read: answered, not answered
on purpose (rate limit, outside allow_clients, malformed, oversized), or unanswered. The
soak judges wardd on that line (what the kernel dropped before wardd could read it is
counted apart), so the last test checks its arithmetic against what was sent here.
"""
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dns.message  # noqa: E402

import wardtest as wt  # noqa: E402

ASKED_KIB = 4096
BURST = 3000            # well above the ~256 of the default buffer, well below ~10,000
NAME = "www.example.test"
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
nsd = ward = None


def setup():
    global nsd, ward
    nsd = wt.start_nsd()
    ward = wt.start_wardd({"log_level": "info"}, upstreams=[nsd])


def granted_kib():
    """(KiB granted, KiB asked) from wardd's start-up line."""
    # wardd answers queries before the main thread has logged every start-up line.
    pattern = r"UDP receive buffer (\d+) KiB per socket \((\d+) KiB asked"
    deadline = time.monotonic() + 10
    while not (m := re.search(pattern, ward.log_text())) and time.monotonic() < deadline:
        time.sleep(0.05)
    wt.check(m, "no 'UDP receive buffer' line in wardd's log:\n%s" % ward.log_text()[-2000:])
    return int(m.group(1)), int(m.group(2))


def test_buffer_granted():
    kib, asked = granted_kib()
    print("  UDP receive buffer %d KiB (asked %d KiB)" % (kib, asked))
    wt.check(asked == ASKED_KIB, "asked %d KiB, want %d" % (asked, ASKED_KIB))
    if os.geteuid() == 0:  # as root SO_RCVBUFFORCE passes net.core.rmem_max
        wt.check(kib >= ASKED_KIB, "running as root, got only %d KiB" % kib)


def client_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.1", 0))
    return s


SENT = {"queries": 0}


def test_burst_while_stopped_is_answered():
    kib, _ = granted_kib()
    if kib < ASKED_KIB:
        print("  SKIP: the kernel granted %d KiB (not root, net.core.rmem_max below "
              "4 MiB): the burst would not fit" % kib)
        return
    r = ward.query(NAME, "A", source="127.0.0.1")
    SENT["queries"] += 1
    wt.check(r.rcode() == 0 and r.answer, "warm-up: %s" % wt.rcode_text(r))
    s = client_socket()
    SENT["queries"] += BURST
    wires = [wt.make_query(NAME, "A", qid=i).to_wire() for i in range(BURST)]
    ward.signal(signal.SIGSTOP)
    try:
        for w in wires:
            s.sendto(w, ward.server)
    finally:
        ward.signal(signal.SIGCONT)
    got = set()
    s.settimeout(0.5)
    deadline = time.monotonic() + 10
    while len(got) < BURST and time.monotonic() < deadline:
        try:
            resp = dns.message.from_wire(s.recv(65535))
        except socket.timeout:
            continue
        if resp.rcode() == 0 and resp.answer:
            got.add(resp.id)
    s.close()
    print("  %d queries sent while wardd was stopped, %d answered" % (BURST, len(got)))
    wt.check(len(got) == BURST, "%d of %d queries sent while wardd was stopped were lost"
             % (BURST - len(got), BURST))


TOTALS = re.compile(r"UDP queries: (\d+) received, (\d+) answered, (\d+) not answered on "
                    r"purpose .*?, (\d+) unanswered \(no answer written (\d+), send refused "
                    r"(\d+), unaccounted (-?\d+)\)")


def test_udp_totals_logged_at_exit():
    s = client_socket()
    answered = 0
    for i in range(50):
        s.sendto(wt.make_query(NAME, "A", qid=i).to_wire(), ward.server)
    s.settimeout(2.0)
    try:
        for _ in range(50):
            s.recv(65535)
            answered += 1
    except socket.timeout:
        pass
    wt.check(answered == 50, "%d of 50 queries answered" % answered)
    garbage = [b"\x01\x02\x03",                        # shorter than a header
               wt.make_query(NAME).to_wire()[:2] + b"\x80" + b"\x00" * 9,  # a response
               b"\x00" * 5000]                           # larger than wardd reads
    for g in garbage:
        s.sendto(g, ward.server)
    ward.query(NAME, "A", source="127.0.0.1")   # after the garbage: it was all read
    s.close()
    rc = ward.terminate()
    wt.check(rc == 0, "wardd exit %s" % rc)
    m = TOTALS.search(ward.log_text())
    wt.check(m, "no 'UDP queries:' line in wardd's log:\n%s" % ward.log_text()[-1500:])
    rec, ans, purpose, unanswered, unwritten, refused, unaccounted = map(int, m.groups())
    print("  " + m.group(0))
    sent = SENT["queries"] + 50 + 1
    wt.check(unanswered == 0 and unwritten == 0 and refused == 0 and unaccounted == 0,
             "wardd left queries unanswered: %s" % m.group(0))
    wt.check(purpose == len(garbage), "%d not answered on purpose, want %d (the garbage)"
             % (purpose, len(garbage)))
    wt.check(rec == sent + len(garbage) and ans == sent,
             "received %d, answered %d; sent %d queries and %d garbage datagrams"
             % (rec, ans, sent, len(garbage)))


if __name__ == "__main__":
    wt.main(globals(), setup=setup)
