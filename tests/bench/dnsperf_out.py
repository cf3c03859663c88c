"""dnsperf's report, read into numbers: shared by `make bench` (benchlib.py) and
`make soak` (tests/soak/soak.py). No side effects on import (no signal handlers)."""
import re


def num(pattern, text):
    """The first group of pattern in text as an int or float, or None."""
    m = re.search(pattern, text)
    if not m:
        return None
    return float(m.group(1)) if "." in m.group(1) else int(m.group(1))


def _section(text, head):
    for line in text.splitlines():
        if line.strip().startswith(head):
            return line
    return ""


def parse(text):
    """dnsperf's closing statistics: sent, completed, lost, qps, latency_s and rcodes
    ({"NOERROR": n, ...}). A figure dnsperf did not print is None."""
    return {"sent": num(r"Queries sent:\s+(\d+)", text),
            "completed": num(r"Queries completed:\s+(\d+)", text),
            "lost": num(r"Queries lost:\s+(\d+)", text),
            "qps": num(r"Queries per second:\s+([\d.]+)", text),
            "latency_s": num(r"Average Latency \(s\):\s+([\d.]+)", text),
            "rcodes": dict((k, int(v)) for k, v in
                           re.findall(r"([A-Z]+) (\d+) \([\d.]+%\)",
                                      _section(text, "Response codes:")))}
