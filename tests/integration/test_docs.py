#!/usr/bin/python3
"""The documentation a user installs agrees with the programs.

- wardd(8) lists exactly the options `wardd --help` prints; ward(8) and the bash
  completion list exactly the options each `ward COMMAND --help` prints.
- ward.json(5), as built, documents every key docs/config.md documents (it is generated
  from it), and groff reads every page without a warning.
- The bash completion completes commands, options and feed names from the config.
- debian/changelog carries the version CMakeLists.txt builds.
"""
import os
import re
import subprocess
import tempfile

import wardtest as wt

SRC = wt.SOURCE_DIR
BUILD = os.environ.get("WARD_BUILD_DIR", os.path.join(SRC, "build"))
WARD = os.environ.get("WARD") or os.path.join(BUILD, "tools", "ward")
COMPLETION = os.path.join(SRC, "packaging", "bash-completion", "ward")
LONG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def ward_commands():
    """The commands `ward --help` lists, in its order."""
    out = subprocess.run([WARD, "--help"], capture_output=True, text=True, timeout=10)
    text = out.stdout.split("commands:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^  ([a-z]+) ", text, re.M)


COMMANDS = ward_commands()


def help_options(argv):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    return set(LONG.findall(out.stdout + out.stderr))


def scd_section(text, start, stop):
    """The text of a man source from the line starting with `start` to the next `stop`."""
    begin = text.index(start)
    end = text.find(stop, begin + len(start))
    return text[begin:end if end >= 0 else len(text)]


def test_wardd_man_options():
    scd = read(os.path.join(SRC, "docs", "man", "wardd.8.scd"))
    documented = set(LONG.findall(scd_section(scd, "# OPTIONS", "\n# ")))
    helped = help_options([wt.WARDD, "--help"])
    wt.check(helped == documented, "wardd --help %s vs wardd(8) OPTIONS %s"
             % (sorted(helped), sorted(documented)))


def completion_options(command):
    text = read(COMPLETION)
    m = re.search(r"^\s*%s\) opts=\"([^\"]*)\"" % command, text, re.M)
    return set(m.group(1).split()) if m else set()


def test_ward_man_and_completion_commands():
    wt.check(len(COMMANDS) >= 10 and "update" in COMMANDS and "reports" in COMMANDS,
             "ward --help lists %s" % COMMANDS)
    scd = read(os.path.join(SRC, "docs", "man", "ward.8.scd"))
    headings = re.findall(r"^\*([a-z]+)\*", scd_section(scd, "# COMMANDS", "\n# "), re.M)
    wt.check(headings == COMMANDS, "ward(8) COMMANDS %s vs ward --help %s"
             % (headings, COMMANDS))
    m = re.search(r'local commands="([^"]*)"', read(COMPLETION))
    completed = m.group(1).split() if m else []
    wt.check(completed == COMMANDS, "the completion's commands %s vs ward --help %s"
             % (completed, COMMANDS))


def test_ward_man_and_completion_options():
    scd = read(os.path.join(SRC, "docs", "man", "ward.8.scd"))
    for i, cmd in enumerate(COMMANDS):
        nxt = "\n*%s*" % COMMANDS[i + 1] if i + 1 < len(COMMANDS) else "\n# "
        section = scd_section(scd, "\n*%s*" % cmd, nxt)
        documented = set(LONG.findall(section)) | {"--help"}
        helped = help_options([WARD, cmd, "--help"]) | {"--help"}
        wt.check(helped == documented, "ward %s --help %s vs ward(8) %s"
                 % (cmd, sorted(helped), sorted(documented)))
        completed = completion_options(cmd)
        wt.check(helped == completed, "ward %s --help %s vs the completion %s"
                 % (cmd, sorted(helped), sorted(completed)))


def config_keys():
    keys = []
    for line in read(os.path.join(SRC, "docs", "config.md")).splitlines():
        m = re.match(r"^\| `([a-z_][a-z0-9_.<>\[\]-]*)` \|", line)
        if m:
            keys.append(m.group(1))
    return keys


def render(page):
    env = dict(os.environ, MANWIDTH="250")
    env.pop("MAN_KEEP_FORMATTING", None)
    out = subprocess.run(["man", "-l", page], capture_output=True, text=True, env=env,
                         timeout=30)
    return re.sub(r".\x08", "", out.stdout), out.stderr


def test_config_man_page_documents_every_key():
    keys = config_keys()
    wt.check(len(keys) > 50, "found only %d keys in docs/config.md" % len(keys))
    text, _ = render(os.path.join(BUILD, "docs", "man", "ward.json.5"))
    missing = [k for k in keys if k not in text]
    wt.check(not missing, "ward.json(5) lacks %s" % missing)
    wt.check("CET-1CEST,M3.5.0,M10.5.0/3" in text, "ward.json(5) lacks the POSIX TZ form")


def test_man_pages_render_cleanly():
    for page in ("wardd.8", "ward.8", "ward.json.5"):
        path = os.path.join(BUILD, "docs", "man", page)
        out = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True,
                             text=True, timeout=30)
        wt.check(out.returncode == 0 and not out.stderr.strip(),
                 "groff warns about %s: %s" % (page, out.stderr[:500]))
        text, err = render(path)
        wt.check("NAME" in text and "SEE ALSO" in text, "%s renders without sections" % page)


def complete(words, conf=None):
    """COMPREPLY for the command line `words` (the last word is being completed)."""
    script = ("source /usr/share/bash-completion/bash_completion; source %s; "
              "COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=\"${COMP_WORDS[*]}\"; "
              "COMP_POINT=${#COMP_LINE}; _ward; printf '%%s\\n' \"${COMPREPLY[@]}\""
              % (COMPLETION, " ".join("'%s'" % w for w in words), len(words) - 1))
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10)
    return sorted(x for x in out.stdout.split("\n") if x)


def test_bash_completion():
    wt.check(complete(["ward", "up"]) == ["update"], "ward up<TAB>: %s" % complete(["ward", "up"]))
    wt.check(complete(["ward", ""]) == sorted(COMMANDS), "ward <TAB>: %s" % complete(["ward", ""]))
    got = complete(["ward", "update", "--f"])
    wt.check(got == ["--feed", "--force"], "ward update --f<TAB>: %s" % got)
    got = complete(["ward", "lookup", "x.com", "--c"])
    wt.check(got == ["--client", "--config"], "ward lookup x --c<TAB>: %s" % got)
    got = complete(["ward", "reports", ""])
    wt.check(got == ["accept", "reject"], "ward reports <TAB>: %s" % got)
    got = complete(["ward", "deny", "kids", "x.com", "--c"])
    wt.check(got == ["--category", "--config"], "ward deny kids x --c<TAB>: %s" % got)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write('{"profiles": {"kids": {"schedules": [{"name": "bedtime"}]}},\n'
                ' "feeds": [\n {"name": "hagezi-nsfw",\n  "url": "x"},\n'
                ' {"name": "local", "url": "y"}]}\n')
    try:
        got = complete(["ward", "update", "-c", f.name, "--feed", ""])
        wt.check(got == ["hagezi-nsfw", "local"], "--feed <TAB>: %s" % got)
    finally:
        os.unlink(f.name)


def test_versions_agree():
    cmake = re.search(r"project\(ward VERSION (\S+)", read(os.path.join(SRC, "CMakeLists.txt")))
    deb = re.match(r"ward \(([^)-]+)", read(os.path.join(SRC, "debian", "changelog")))
    wt.check(cmake and deb and cmake.group(1) == deb.group(1),
             "CMakeLists.txt %s vs debian/changelog %s"
             % (cmake and cmake.group(1), deb and deb.group(1)))


if __name__ == "__main__":
    wt.main(globals())
