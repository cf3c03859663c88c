#!/usr/bin/python3
"""Checks on the C source that a compiler does not make (STYLE.md, issue 8):

1. No function in resolver/, blocklists/ or tools/ is longer than MAX_LINES lines, counted
   from the line with its name to its closing brace.
2. No include circle among resolver/'s own files: a module (foo.c with foo.h) may use
   another's header only if that one does not, directly or through others, use its own.
   worker.h is the context every stage runs in (it brings the stage headers together and
   none of them includes it), so includes of it do not count as a use of the worker
   module; everything else does.

    tests/lint/check_code.py SOURCE_DIR      (ctest runs it as lint/check_code)
Prints every finding and exits 1 if there is one.
"""
import os
import re
import sys

MAX_LINES = 60
DIRS = ("resolver", "blocklists", "tools")
CONTEXT_HEADERS = {"resolver/worker.h"}

# A function definition starts at column 0 with a name and an opening parenthesis, and its
# body's braces are at column 0 too (the style every file here follows).
DEF_START = re.compile(r"^[A-Za-z_][\w \*]*?\b([A-Za-z_]\w*)\s*\(")
SKIP_START = ("typedef", "struct", "enum", "union", "#", "static const", "const")


def functions(path):
    """@return [(name, first line, line count)] of the functions defined in path."""
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = DEF_START.match(lines[i])
        if not m or lines[i].startswith(SKIP_START) or lines[i].rstrip().endswith(";"):
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j] != "{" and not lines[j].rstrip().endswith(";"):
            j += 1
        if j >= len(lines) or lines[j] != "{":
            i += 1
            continue
        k = j + 1
        while k < len(lines) and lines[k] != "}":
            k += 1
        out.append((m.group(1), i + 1, k - i + 1))
        i = k + 1
    return out


def long_functions(top):
    found = []
    for d in DIRS:
        for root, _, files in os.walk(os.path.join(top, d)):
            for name in sorted(files):
                if not name.endswith(".c"):
                    continue
                path = os.path.join(root, name)
                for fn, line, n in functions(path):
                    if n > MAX_LINES:
                        found.append("%s:%d: %s() is %d lines (at most %d)" % (
                            os.path.relpath(path, top), line, fn, n, MAX_LINES))
    return found


INCLUDE = re.compile(r'^#include "(resolver/[\w.]+)"', re.M)


def module_of(path, sources=None):
    """resolver/foo.c and resolver/foo.h are module resolver/foo. A file without a .c of
    its own name belongs to the module its name extends: dns_wire.h and dns_query.c are
    dns's, web_internal.h is web's."""
    mod = os.path.splitext(path)[0]
    while sources is not None and mod not in sources and "_" in os.path.basename(mod):
        mod = mod.rsplit("_", 1)[0]
    return mod


def include_graph(top):
    """Module -> modules whose headers its files include (resolver/ only)."""
    graph = {}
    d = os.path.join(top, "resolver")
    sources = {"resolver/" + n[:-2] for n in os.listdir(d) if n.endswith(".c")}
    for name in sorted(os.listdir(d)):
        if not name.endswith((".c", ".h")) or name == "main.c":
            continue
        rel = "resolver/" + name
        with open(os.path.join(d, name), encoding="utf-8") as f:
            text = f.read()
        mod = module_of(rel, sources)
        deps = graph.setdefault(mod, set())
        for inc in INCLUDE.findall(text):
            if inc in CONTEXT_HEADERS or module_of(inc, sources) == mod:
                continue
            deps.add(module_of(inc, sources))
    return graph


def circles(graph):
    """Every module that can reach itself, with one such path."""
    found = []
    for start in sorted(graph):
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    found.append(" -> ".join(path + [start]))
                    stack = []
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return found


def main():
    top = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    problems = long_functions(top)
    problems += ["include circle in resolver/: " + c for c in circles(include_graph(top))]
    for p in problems:
        print(p)
    n_fn = sum(len(functions(os.path.join(r, f))) for d in DIRS
               for r, _, fs in os.walk(os.path.join(top, d)) for f in fs if f.endswith(".c"))
    print("check_code: %d functions checked, %d problems" % (n_fn, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
