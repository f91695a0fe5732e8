#!/usr/bin/env python3
"""Lists every function body in C++ sources that is longer than N lines.

A plain brace scan, not a parser: comments, string and character literals (raw strings too) are
blanked first, then every '{' whose preceding text ends like a function head -- a ')' possibly
followed by qualifiers (const, noexcept, override, final, mutable, a trailing return type, a
constructor's initialiser list) -- opens a body, unless the word before the '(' is a control
keyword (if, for, while, switch, catch) or the brace belongs to a lambda ('](...) {'). A body's
length is the number of lines from its '{' to its matching '}' inclusive; a lambda counts toward
the function that holds it. Known blind spot: a constructor whose initialiser list uses braces
(a_{1}) is not recognised. Usage:

  scripts/check-function-length.py [--max N] PATH...   (files or folders; *.cpp, *.cc, *.h)

Prints file:line: name (N lines) for each long body and exits 1 if there is any.
"""
import argparse
import os
import re
import sys

CONTROL = {"if", "for", "while", "switch", "catch", "return", "sizeof", "decltype", "alignof",
           "static_assert", "defined", "constexpr"}
QUALIFIERS = re.compile(
    r"\)\s*(?:const|noexcept(?:\s*\([^()]*\))?|override|final|mutable|volatile|&&?|"
    r"->\s*[\w:<>,\s\*&]+|\s)*$")


def blank(src):
    """Replaces comments and literals with spaces, keeping newlines, so braces inside them vanish."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "R" and src.startswith('R"', i) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'R"([^()\\\s]{0,16})\(', src[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = src.find(")" + m.group(1) + '"', i + m.end())
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and src[i - 1].isalnum():  # digit separator: 1'000'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else " " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def head_before(text, pos):
    """The text before position pos back to the previous ';', '{' or '}' (the statement head)."""
    k = pos - 1
    while k >= 0 and text[k] not in ";{}":
        k -= 1
    return text[k + 1:pos]


def matching_paren(head, close):
    depth = 0
    for k in range(close, -1, -1):
        if head[k] == ")":
            depth += 1
        elif head[k] == "(":
            depth -= 1
            if depth == 0:
                return k
    return -1


def function_name(head):
    """The function's name when head (text before a '{') ends like a function head, else None."""
    h = head.rstrip()
    # A constructor's initialiser list: "X::X(args) : a_(1), b_{2}" -- back up to the ':' that
    # follows the parameter list.
    init = re.search(r"\)\s*(?:noexcept\s*)?:(?!:)", h)
    if init:
        h = h[: init.start() + 1]
    m = QUALIFIERS.search(h)
    if not m:
        return None
    close = m.start()
    if close < 0 or h[close] != ")":
        return None
    open_ = matching_paren(h, close)
    if open_ <= 0:
        return None
    before = h[:open_].rstrip()
    if before.endswith("]"):
        return None  # a lambda
    w = re.search(r"(operator\s*(?:\(\)|[^\s(]+)|~?[A-Za-z_]\w*)$", before)
    if not w:
        return None
    name = w.group(1)
    if name in CONTROL:
        return None
    # Qualified name: keep Class::name.
    q = re.search(r"((?:[A-Za-z_]\w*(?:<[^<>]*>)?::)*" + re.escape(name) + r")$", before)
    return q.group(1) if q else name


def long_functions(path, limit):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = blank(f.read())
    found = []
    stack = []  # (is_function_body_start, name, line) per open brace
    line = 1
    inside = 0  # depth of open function bodies
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c == "{":
            name = None if inside else function_name(head_before(text, i))
            stack.append((name, line))
            if name:
                inside += 1
        elif c == "}" and stack:
            name, start = stack.pop()
            if name:
                inside -= 1
                length = line - start + 1
                if length > limit:
                    found.append((start, name, length))
    return found


def sources(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in sorted(os.walk(p)):
                for f in sorted(files):
                    if f.endswith((".cpp", ".cc", ".h")):
                        yield os.path.join(root, f)
        else:
            yield p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max", type=int, default=60, help="longest body allowed, in lines")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    bad = 0
    for path in sources(args.paths):
        for start, name, length in long_functions(path, args.max):
            print(f"{path}:{start}: {name} ({length} lines)")
            bad += 1
    if bad:
        print(f"{bad} function bodies over {args.max} lines", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
