#!/usr/bin/env python3
"""ward.json(5) from docs/config.md: the man page is generated, so it cannot disagree.

Reads the subset of Markdown that docs/config.md uses (headings, paragraphs, "-" lists
whose items continue on indented lines, fenced code blocks, tables, **bold**, `code`
and [links](...)) and writes scdoc(5) source. Table rows become indented entries, which
read better than tables at 80 columns: the first cell is the term, the others follow as
"Header: value" (a last column named "notes" is plain text).

usage: config2scd.py docs/config.md > ward.json.5.scd
"""
import re
import sys

HEAD = """ward.json(5)

# NAME

ward.json - configuration file of the ward family-filtering DNS resolver

# SYNOPSIS

_/etc/ward/ward.json_

"""
TAIL = """
# SEE ALSO

*wardd*(8), *ward*(8)
"""


# Man pages stay ASCII (groff reads them without preconv); the test_docs check fails on
# any character this table does not cover.
ASCII = {"\u2192": "->", "\u2014": "--", "\u2013": "-", "\u2018": "'", "\u2019": "'",
         "\u201c": '"', "\u201d": '"', "\u00b5": "u", "\u00d7": "x"}


def escape(text):
    text = "".join(ASCII.get(ch, ch) for ch in text)
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def inline(text):
    """Markdown inline markup to scdoc: `code` and **x** bold, links as their text."""
    out = []
    pos = 0
    pattern = re.compile(r"`([^`]*)`|\*\*(.+?)\*\*|\[([^\]]+)\]\([^)]*\)")
    for m in pattern.finditer(text):
        out.append(escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("*" + escape(m.group(1)) + "*" if m.group(1) else "")
        elif m.group(2) is not None:
            out.append("*" + inline(m.group(2)).replace("*", "") + "*")
        else:
            out.append(inline(m.group(3)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def cells(line):
    """Split a table row on | that are not escaped (\\|) and not inside `code`."""
    parts, cur, code = [], "", False
    body = line.strip()[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur += "|"
            i += 2
            continue
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur.strip())
    return parts


def table(rows):
    header = cells(rows[0])
    out = []
    for row in rows[2:]:
        c = cells(row)
        out.append(inline(c[0]) if c[0] else "(none)")
        body = []
        for name, value in zip(header[1:], c[1:]):
            if not value:
                continue
            if "notes" in name.lower() and name is header[-1]:
                body.append(inline(value))
            else:
                body.append("%s: %s." % (name[:1].upper() + name[1:], inline(value).rstrip(".")))
        out.append("\t" + " ".join(body))
        out.append("")
    return out


def convert(lines):
    out = [HEAD]
    i = 0
    para = []

    def flush():
        if para:
            out.append(inline(" ".join(para)))
            out.append("")
            para.clear()

    while i < len(lines):
        line = lines[i].rstrip("\n")
        stripped = line.strip()
        if line.startswith("# "):
            flush()
            out.append("# DESCRIPTION\n")
        elif line.startswith("## "):
            flush()
            out.append("# " + line[3:].upper() + "\n")
        elif line.startswith("### "):
            flush()
            out.append("## " + line[4:] + "\n")
        elif stripped.startswith("```"):
            flush()
            indent = "\t" if line.startswith(" ") else ""
            block = []
            i += 1
            while not lines[i].strip().startswith("```"):
                block.append(lines[i].rstrip("\n").strip())
                i += 1
            out.append(indent + "```")
            out.extend(indent + b for b in block)
            out.append(indent + "```")
            out.append("")
        elif stripped.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i])
                i += 1
            out.extend(table(rows))
            continue
        elif line.startswith("- "):
            flush()
            item = [line[2:].strip()]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and \
                    not lines[i].strip().startswith("```"):
                item.append(lines[i].strip())
                i += 1
            out.append("- " + inline(" ".join(item)))
            if i < len(lines) and lines[i].strip() == "":
                out.append("")
            continue
        elif stripped == "":
            flush()
        else:
            para.append(stripped)
        i += 1
    flush()
    out.append(TAIL)
    return "\n".join(out)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        sys.stdout.write(convert(f.readlines()))


if __name__ == "__main__":
    main()
