#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the code that pidshim's documentation shows, so it cannot drift.

`make check-docs` (mk/docs.mk) runs this on README.md, every *.md under
docs/, examples/README.md and the EXAMPLES sections of man/man3/*.3.
Every fenced code block in C or shell is one test, printed as a TAP line
"ok N - FILE:LINE: ..." and counted in BUILD/results/docs.count
("PASSED FAILED SKIPPED").  Adding a block to a document needs nothing
more than writing it; these are the conventions it must follow.

C blocks (```c; in a man page, each .EX/.EE or .nf/.fi pair inside
.SH EXAMPLES, troff escapes undone) are told apart by their content:
  - a program (it defines main) is compiled with -Wall -Wextra -Werror -O2
    against the built library (shim/include, BUILD/libpidshim.so) by every
    compiler given (gcc and clang under make), then run twice, on the
    backend the kernel offers and with PIDSHIM_BACKEND=signalfd; each run
    must exit 0 within --timeout seconds (5).  ```c norun: compiled and
    linked, not run.
  - code at file scope (it defines a function, no main) is compiled as it
    is (-c), with the same flags.
  - a fragment (statements) is compiled as the body of `int f(void)`.
  A block needs exactly the headers it shows: its own #include lines (a
  man page's SYNOPSIS #include lines count too).  What a fragment uses but
  does not declare is named, in C, in a comment the reader sees:
      /* given: struct pidshim *h; struct pidshim_exit e; (h from spawn) */
  (or "// given: ...", or a /* given: */ comment over several lines).  The
  declarations (up to the comment's last ';'; the rest is prose) are made
  at file scope before the block.  This prelude is part of the code the
  reader sees, on GitHub and in man(1) alike, where an HTML comment or a
  word of the info string would be hidden.  Compiler messages point at
  the document's own lines.

Shell blocks: ```sh, ```shell, ```bash (each line a command; comments and
`\` continuations understood) and ```console (only lines that start with
"$ " are commands, continued on lines that start with "> "; the rest is
output).  A command is run only if every
part of it has a shape on the allow-list of `pidshim` commands that are
safe anywhere:
    pidshim probe [--json] [--tap]
    pidshim emulate --list | --names | --expected-backend NAME
    pidshim emulate NAME -- SAFE
    pidshim run [--timeout D] [--kill-after D] [--signal S] [--json]
                [--foreground] -- SAFE
    pidshim [COMMAND] --help, pidshim --version
    ... | jq [-r|-e|-c] FILTER
where SAFE is true, echo ..., sleep of at most 2 s, or one of the pidshim
shapes; `pidshim`, `./build/pidshim` and `build/pidshim` are the built
CLI (commands run in a scratch directory where ./build is BUILD).  It must
exit with the status its comment states ("# ... exits 1: ..."), or 0,
within 30 s (bash -o pipefail).  Every other command is listed as "not
run" with the reason; a block where nothing runs is skipped with it, and
so is a block that is a script (for, while, if, case, functions).
`pidshim probe` is not run where plain `pidshim probe` fails (a kernel
inconsistent with its version), nor `pidshim emulate` where seccomp
filters are refused (exit 125).

```c skip: REASON (any checked language): skipped, with REASON.

GitHub renders a block by the first word of its info string only, so
```c norun and ```c skip: ... look like any ```c block.  Other languages
(text, json, ...) and indented code blocks are not checked (the "not
checked" line lists the fenced ones).

usage: ci/check-docs.py [--build BUILD] [--cc CC]... [--cflags FLAGS]
                        [--timeout S] [--jobs N] [--results DIR] [FILE...]
With no FILE, the documents named above, from the top of the tree; any
FILE may be given, also a man page of another section (a section 1 page's
examples are shell sessions).
"""

import argparse
import concurrent.futures
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
C_LANGS = {"c"}
SH_LANGS = {"sh", "shell", "bash"}
CONSOLE_LANGS = {"console", "shell-session", "sh-session"}
CFLAGS = ["-Wall", "-Wextra", "-Werror", "-O2"]


class Block:
    def __init__(self, path, line, lang, attrs, lines, extra_head=()):
        self.path = path  # as shown in the TAP lines
        self.line = line  # line of the opening fence / .EX
        self.lang = lang
        self.attrs = attrs  # the info string's words after the language
        self.lines = lines  # the code, one string per document line
        self.first = line + 1  # document line of lines[0]
        self.extra_head = list(extra_head)  # man page SYNOPSIS includes

    @property
    def where(self):
        return "%s:%d" % (self.path, self.line)


# ---- extraction -------------------------------------------------------------

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def markdown_blocks(path, shown):
    """Fenced code blocks (CommonMark: ``` or ~~~, closed by a fence of the
    same character at least as long); fences inside list items may be
    indented."""
    blocks, other = [], []
    with open(path, encoding="utf-8") as f:
        text = f.read().split("\n")
    i = 0
    while i < len(text):
        m = FENCE.match(text[i])
        if not m or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        start, body = i + 1, []
        i += 1
        while i < len(text):
            c = FENCE.match(text[i])
            if c and c.group(2)[0] == fence[0] and len(c.group(2)) >= len(fence) \
                    and not c.group(3).strip():
                break
            line = text[i]
            strip = min(indent, len(line) - len(line.lstrip(" ")))
            body.append(line[strip:])
            i += 1
        i += 1
        words = info.split()
        lang = words[0].lower() if words else ""
        if lang in C_LANGS | SH_LANGS | CONSOLE_LANGS:
            blocks.append(Block(shown, start, lang, words[1:], body))
        else:
            other.append("%s:%d (%s)" % (shown, start, lang or "no language"))
    return blocks, other


TROFF_NAMED = {"aq": "'", "dq": '"', "rs": "\\", "ti": "~", "ha": "^",
               "ga": "`", "lq": '"', "rq": '"', "oq": "'", "cq": "'",
               "em": "--", "en": "-", "hy": "-", "mi": "-", "pl": "+",
               "eq": "=", "lt": "<", "gt": ">", "at": "@", "sh": "#",
               "lB": "[", "rB": "]", "lC": "{", "rC": "}", "ba": "|"}
TROFF_ESC = re.compile(r"\\(\((..)|\[([^\]]*)\]|f(\(..|\[[^\]]*\]|.)|"
                       r"[e\\]|-|&|\||\^|~| |0|c|.)")


def untroff(line):
    def sub(m):
        whole = m.group(1)
        if m.group(2) or m.group(3) is not None:
            name = m.group(2) or m.group(3)
            return TROFF_NAMED.get(name, "?")
        if whole.startswith("f"):
            return ""
        return {"e": "\\", "\\": "\\", "-": "-", " ": " ", "~": " ",
                "0": " "}.get(whole, "")
    return TROFF_ESC.sub(sub, line)


def man_blocks(path, shown):
    """.EX/.EE (or .nf/.fi) pairs in the EXAMPLES section; section 3 pages
    are C, the others shell sessions.  A page that is only a .so link has
    none."""
    with open(path, encoding="utf-8") as f:
        text = f.read().split("\n")
    section = os.path.splitext(path)[1][1:2]
    lang = "c" if section == "3" else "console"
    heads, blocks = [], []
    sh, code, start = None, None, 0
    for n, raw in enumerate(text, 1):
        if raw.startswith(".SH"):
            sh = raw[3:].strip().strip('"').upper()
            continue
        if sh == "SYNOPSIS":
            m = re.match(r'^\.B[IR]?\s+"?#include\s*(<[^>]+>)', raw)
            if m:
                heads.append("#include " + m.group(1))
        if sh not in ("EXAMPLES", "EXAMPLE"):
            continue
        req = raw.split()[0] if raw.startswith((".", "'")) and raw.split() else ""
        if code is None and req in (".EX", ".nf"):
            code, start = [], n
        elif code is not None and req in (".EE", ".fi"):
            blocks.append(Block(shown, start, lang, [], code, heads))
            code = None
        elif code is not None:
            # Requests inside the example (.in, .\" comments) are not code;
            # keep their lines empty so line numbers stay the page's.
            code.append("" if req or raw.startswith('.\\"') else untroff(raw))
    return blocks, []


# ---- C blocks ---------------------------------------------------------------

FUNC_DEF = re.compile(
    r"^(?!(?:if|for|while|switch|return|else|do|case|sizeof)\b)"
    r"[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;=]*\)\s*(\{.*)?$")
GIVEN = re.compile(r"/\*\s*given:(.*?)\*/|//\s*given:([^\n]*)", re.S)


def c_kind(lines):
    names = []
    for i, line in enumerate(lines):
        m = FUNC_DEF.match(line)
        if not m:
            continue
        nxt = next((x for x in lines[i + 1:] if x.strip()), "")
        if m.group(2) or nxt.startswith("{"):
            names.append(m.group(1))
    if "main" in names:
        return "program"
    return "file scope" if names else "fragment"


def c_head_len(lines):
    """Number of leading lines that are preprocessor lines, comments or
    blank: they stay at file scope in a fragment."""
    n, in_comment = 0, False
    for line in lines:
        s = line.strip()
        if in_comment:
            in_comment = "*/" not in s
        elif s.startswith("/*"):
            in_comment = "*/" not in s
        elif not (s == "" or s.startswith("#") or s.startswith("//")):
            break
        n += 1
    return n


def c_source(b, kind):
    def at(n):
        return '#line %d "%s"' % (n, b.path)
    out = list(b.extra_head)
    # The declarations end at the comment's last ';'; words after it are
    # for the reader ("... ep from epoll_create1()").
    text = "\n".join(b.lines)
    given = []
    for m in GIVEN.finditer(text):
        g = 1 if m.group(1) is not None else 2
        decls = m.group(g)[:m.group(g).rfind(";") + 1]
        # The " * " that continues a comment is not C.
        decls = re.sub(r"\n[ \t]*\*[ \t]", "\n", decls)
        if decls.strip():
            skip = len(decls) - len(decls.lstrip())
            line = b.first + text.count("\n", 0, m.start(g)) + decls[:skip].count("\n")
            given += [at(line), decls.strip()]
    head = c_head_len(b.lines)
    # Feature-test macros the block defines must come before any header,
    # the man page's SYNOPSIS include too, as they would in the reader's
    # file.
    feat = [i for i, line in enumerate(b.lines[:head])
            if re.match(r"\s*#\s*define\s+_\w*_SOURCE\b", line)]
    out = [at(b.first + i) + "\n" + b.lines[i] for i in feat] + out
    rest = [line if i not in feat else "" for i, line in enumerate(b.lines[:head])]
    out += [at(b.first)] + rest + given
    if kind == "fragment":
        out += ["int doc_fragment(void);", "int doc_fragment(void)", "{",
                at(b.first + head)] + b.lines[head:] + ["return 0;", "}"]
    else:
        out += [at(b.first + head)] + b.lines[head:]
    return "\n".join(out) + "\n"


def run(cmd, timeout, **kw):
    """(exit status, or None when it did not exit within timeout seconds;
    its output).  It runs in a process group of its own, killed whole on a
    timeout (also when something it left running holds its output open)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True, **kw)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        # Not reaped yet, so the group id cannot name anyone else.
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        rc = None
    return rc, out.decode(errors="replace")


def check_c(b, cfg):
    kind = c_kind(b.lines)
    base = os.path.join(cfg.work, "%s-%d" % (re.sub(r"[^\w.-]", "_", b.path), b.line))
    src = base + ".c"
    with open(src, "w", encoding="utf-8") as f:
        f.write(c_source(b, kind))
    inc = shlex.split(cfg.cflags) + ["-I", os.path.join(TOP, "shim", "include")]
    runs = kind == "program" and "norun" not in b.attrs
    # Each compiler links its own binary; the first one's runs (make puts
    # $(CC), which built the library, first).
    for i, cc in enumerate(cfg.cc):
        if kind == "program":
            cmd = shlex.split(cc) + CFLAGS + inc + [
                "-o", "%s.%d" % (base, i), src,
                "-L", cfg.build, "-lpidshim", "-Wl,-rpath," + cfg.build]
        else:
            cmd = shlex.split(cc) + CFLAGS + inc + ["-c", "-o", base + ".o", src]
        rc, out = run(cmd, 60)
        if rc != 0:
            return False, "%s: %s does not compile with %s" % (b.where, kind, cc), \
                [" ".join(cmd), out]
    what = "%s: %s compiles with %s" % (b.where, kind, ", ".join(cfg.cc))
    if not runs:
        return True, what + (" (norun)" if kind == "program" else ""), []
    envs = [("default backend", {}), ("signalfd", {"PIDSHIM_BACKEND": "signalfd"})]
    env0 = dict(os.environ, PATH=cfg.build + os.pathsep + os.environ.get("PATH", ""))
    with concurrent.futures.ThreadPoolExecutor(len(envs)) as ex:
        futs = [ex.submit(run, [base + ".0"], cfg.timeout, cwd=cfg.rundir,
                          env=dict(env0, **e)) for _, e in envs]
        res = [f.result() for f in futs]
    bad = [(name, rc, out) for (name, _), (rc, out) in zip(envs, res) if rc != 0]
    if bad:
        diag = []
        for name, rc, out in bad:
            st = "no exit within %g s" % cfg.timeout if rc is None else "exit %d" % rc
            diag += ["run on %s: %s" % (name, st), out]
        return False, what + ", but a run fails", diag
    return True, what + " and exits 0 on the default backend and on signalfd", []


# ---- shell blocks -----------------------------------------------------------

SCRIPT_WORDS = {"for", "while", "until", "if", "case", "function", "select"}
NAME = re.compile(r"^[A-Za-z0-9][\w.-]*$")
DURATION = re.compile(r"^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)?$")
SIGNAL = re.compile(r"^(SIG)?[A-Z0-9+-]+$|^[0-9]+$")
JQ_FILTER = re.compile(r"^[\w.\[\]\"' |,:-]+$")
PIDSHIM_WORDS = ("pidshim", "./build/pidshim", "build/pidshim")


def shell_commands(b):
    """(document line, command text) for each command of the block, or a
    string saying why the block is a script."""
    cmds, cur, cur_line = [], None, 0
    for i, raw in enumerate(b.lines):
        line = raw
        if b.lang in CONSOLE_LANGS:
            if cur is None and not line.startswith("$ "):
                continue
            # The prompt, or the "> " of a continued line.
            if line.startswith("$ " if cur is None else "> "):
                line = line[2:]
        if cur is None:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cur, cur_line = "", b.first + i
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        cmds.append((cur_line, cur.strip()))
        cur = None
    for _, c in cmds:
        first = c.split()[0]
        if first in SCRIPT_WORDS or first in ("{", "(") or re.search(r"\)\s*\{", c) \
                or re.search(r"(^|;|\s)(do|done|then|fi|esac)($|;|\s)", c):
            return "a shell script (%s): only simple commands are run" % first
    return cmds


def split_comment(cmd):
    """(code, comment) as sh sees them: a # that starts a word outside
    quotes begins the comment."""
    quote, i = None, 0
    while i < len(cmd):
        c = cmd[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = None
        elif c == "\\":
            i += 1
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or cmd[i - 1].isspace()):
            return cmd[:i], cmd[i + 1:].strip()
        i += 1
    return cmd, ""


def tokens(cmd):
    """The command's words and operators (comment left out)."""
    lex = shlex.shlex(split_comment(cmd)[0], posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    lex.commenters = ""
    return list(lex)


def inner_ok(argv):
    """A command pidshim may start for us: harmless anywhere."""
    if not argv:
        return "nothing after --"
    if argv == ["true"] or argv[0] == "echo":
        return None
    if argv[0] == "sleep" and len(argv) == 2 and re.match(r"^[0-9]+(\.[0-9]+)?s?$", argv[1]) \
            and float(argv[1].rstrip("s")) <= 2:
        return None
    if argv[0] in PIDSHIM_WORDS:
        return pidshim_ok(argv[1:])
    return "%s is not on the allow-list" % argv[0]


def pidshim_ok(args):
    """None if `pidshim ARGS` has an allowed shape, else why not."""
    if args in (["--help"], ["-h"], ["--version"]):
        return None
    if not args:
        return "pidshim without a command"
    sub, rest = args[0], args[1:]
    if rest in (["--help"], ["-h"]) and sub in ("probe", "run", "wait", "emulate"):
        return None
    if sub == "probe" and all(a in ("--json", "--tap") for a in rest):
        return None
    if sub == "emulate":
        if rest in (["--list"], ["-l"], ["--names"]):
            return None
        if len(rest) == 2 and rest[0] == "--expected-backend" and NAME.match(rest[1]):
            return None
        if len(rest) >= 2 and NAME.match(rest[0]) and rest[1] == "--":
            return inner_ok(rest[2:])
    if sub == "run":
        i = 0
        while i < len(rest) and rest[i] != "--":
            opt, _, val = rest[i].partition("=")
            if opt in ("--json", "--foreground") and not val:
                i += 1
                continue
            if opt in ("--timeout", "--kill-after", "--signal"):
                if not val:
                    i += 1
                    val = rest[i] if i < len(rest) else ""
                if (SIGNAL if opt == "--signal" else DURATION).match(val):
                    i += 1
                    continue
            return "pidshim run option %s is not on the allow-list" % rest[i]
        return inner_ok(rest[i + 1:]) if i < len(rest) else "pidshim run without --"
    return "pidshim %s is not on the allow-list" % " ".join(args)


def command_ok(cmd):
    """None if every part of the command line has an allowed shape."""
    try:
        toks = tokens(cmd)
    except ValueError as e:
        return "cannot parse: %s" % e
    parts, cur, ops = [], [], []
    for t in toks:
        if t in ("|", "&&", "||", ";"):
            parts.append(cur)
            ops.append(t)
            cur = []
        elif t and set(t) <= set("();<>|&"):
            return "shell operator %s" % t
        else:
            cur.append(t)
    parts.append(cur)
    for i, argv in enumerate(parts):
        if any(re.search(r"[$`*?~]", a) for a in argv):
            return "expansions ($, `, globs) are not run"
        if i > 0 and ops[i - 1] == "|":
            if argv and argv[0] == "jq" and all(
                    a in ("-r", "-e", "-c") or JQ_FILTER.match(a) for a in argv[1:]):
                if not shutil.which("jq"):
                    return "jq is not installed"
                continue
            return "%s after a pipe is not on the allow-list" % (argv[0] if argv else "nothing")
        if not argv or argv[0] not in PIDSHIM_WORDS:
            return "not a pidshim command"
        why = pidshim_ok(argv[1:])
        if why:
            return why
    return None


EXPECT = re.compile(r"\bexits?\s+([0-9]+)\b")


def check_shell(b, cfg):
    cmds = shell_commands(b)
    if isinstance(cmds, str):
        return None, "%s: %s block # SKIP %s" % (b.where, b.lang, cmds), []
    if not cmds:
        return None, "%s: %s block # SKIP no command in it" % (b.where, b.lang), []
    env = dict(os.environ, PATH=cfg.build + os.pathsep + os.environ.get("PATH", ""))
    ran, failed, diag, notrun = 0, 0, [], []
    for line, cmd in cmds:
        why = command_ok(cmd)
        if not why and not os.access(os.path.join(cfg.build, "pidshim"), os.X_OK):
            why = "the pidshim CLI is not built"
        if not why and cfg.probe_rc and re.search(r"\bprobe\b", cmd):
            why = "`pidshim probe` exits %d on this kernel: it is not consistent with " \
                "its version" % cfg.probe_rc
        if why:
            notrun.append("line %d not run (%s): %s" % (line, why, cmd))
            continue
        # The status the document states in the line's comment ("# exits 1:
        # ..."), else 0.
        m = EXPECT.search(split_comment(cmd)[1])
        want = int(m.group(1)) if m else 0
        rc, out = run(["bash", "-o", "pipefail", "-c", cmd], 30, cwd=cfg.rundir, env=env)
        if rc == 125 and want != 125 and re.search(r"\bemulate\b", cmd):
            notrun.append("line %d not run (pidshim emulate exits 125: seccomp filters "
                          "are refused here): %s" % (line, cmd))
            continue
        ran += 1
        if rc != want:
            failed += 1
            st = "no exit within 30 s" if rc is None else "exit %d" % rc
            diag += ["line %d: %s: %s, the document says %d" % (line, cmd, st, want), out]
    if not ran:
        return None, "%s: %s block # SKIP nothing on the allow-list, %d command%s not run" % (
            b.where, b.lang, len(notrun), "" if len(notrun) == 1 else "s"), notrun
    what = "%s: %s block, %d command%s run%s" % (
        b.where, b.lang, ran, "" if ran == 1 else "s",
        ", %d not run" % len(notrun) if notrun else "")
    if failed:
        return False, what + ", %d with a wrong exit status" % failed, diag + notrun
    return True, what + ", each with the exit status the document gives", notrun


# ---- driver -----------------------------------------------------------------

def check(b, cfg):
    if b.attrs and b.attrs[0].rstrip(":") == "skip":
        reason = " ".join(b.attrs[1:]) or "marked skip without a reason"
        return None, "%s: %s block # SKIP %s" % (b.where, b.lang, reason), []
    if b.lang in C_LANGS:
        return check_c(b, cfg)
    return check_shell(b, cfg)


def default_files():
    files = ["README.md"]
    files += sorted(glob.glob("docs/**/*.md", recursive=True))
    files += ["examples/README.md"]
    files += sorted(glob.glob("man/man3/*.3"))
    return [f for f in files if os.path.isfile(f)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--cc", action="append", default=[])
    ap.add_argument("--cflags", default="",
                    help="more flags for every compile and link (e.g. sanitizers)")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--results", help="directory for docs.count (default BUILD/results)")
    ap.add_argument("files", nargs="*")
    cfg = ap.parse_args()
    os.chdir(TOP)
    cfg.build = os.path.realpath(cfg.build)
    cfg.cc = list(dict.fromkeys(cfg.cc or [os.environ.get("CC", "cc")]))
    results = cfg.results or os.path.join(cfg.build, "results")
    os.makedirs(results, exist_ok=True)
    # The generated sources, kept when a block failed.
    cfg.work = os.path.join(results, "docs-blocks")
    shutil.rmtree(cfg.work, ignore_errors=True)
    os.makedirs(cfg.work)
    # Commands and programs run in a scratch directory where ./build is the
    # build tree, as the documents' `./build/pidshim` expects.
    cfg.rundir = os.path.join(cfg.work, "run")
    os.makedirs(cfg.rundir)
    os.symlink(cfg.build, os.path.join(cfg.rundir, "build"))
    cli = os.path.join(cfg.build, "pidshim")
    cfg.probe_rc = run([cli, "probe"], 30)[0] if os.access(cli, os.X_OK) else 0

    blocks, other, empty = [], [], []
    for f in cfg.files or default_files():
        shown = os.path.relpath(f, TOP) if os.path.isabs(f) and f.startswith(TOP) else f
        b, o = (man_blocks if re.search(r"\.[1-8]$", f) else markdown_blocks)(f, shown)
        langs = {}
        for x in b:
            langs[x.lang] = langs.get(x.lang, 0) + 1
        if b:
            print("# %s: %d block%s (%s)" % (shown, len(b), "" if len(b) == 1 else "s",
                  ", ".join("%s %d" % kv for kv in sorted(langs.items()))))
        else:
            empty.append(shown)
        blocks += b
        other += o
    if empty:
        print("# no C or shell block in: " + ", ".join(empty))
    if other:
        print("# not checked (not C or shell): " + ", ".join(other))

    passed = failed = skipped = 0
    with concurrent.futures.ThreadPoolExecutor(max(1, cfg.jobs)) as ex:
        futs = [ex.submit(check, b, cfg) for b in blocks]
        for i, fut in enumerate(futs, 1):
            res, what, diag = fut.result()
            if res is None:
                skipped += 1
                print("ok %d - %s" % (i, what))
            elif res:
                passed += 1
                print("ok %d - %s" % (i, what))
            else:
                failed += 1
                print("not ok %d - %s" % (i, what))
            for d in diag:
                for line in d.strip("\n").split("\n")[-30:] if d.strip() else []:
                    print("#   " + line)
    print("1..%d" % len(blocks))
    with open(os.path.join(results, "docs.count"), "w") as f:
        f.write("%d %d %d\n" % (passed, failed, skipped))
    print("docs: pass %d, fail %d, skip %d" % (passed, failed, skipped))
    if not failed:
        shutil.rmtree(cfg.work, ignore_errors=True)
    else:
        print("# sources kept in %s" % cfg.work)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
