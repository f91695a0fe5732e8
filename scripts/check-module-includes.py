#!/usr/bin/env python3
"""Fails when a src/ module includes a module that LOOM_MODULES (CMakeLists.txt) does not list.

DESIGN.md orders the modules; CMakeLists.txt's LOOM_MODULES writes that order down as
"name:dep,dep,...". Each module is compiled with its own include root and those of its listed
modules only (cmake/modules.cmake links them PRIVATE), so a wrong include fails the build; this
script says the same thing without a build, and names the line.

For every file src/M/* it reads each `#include "X/..."` where X is a module. X must be M or one of
M's listed modules. Headers of other modules are followed as well, because a header that module
M includes is compiled as part of M: if src/M/a.cpp includes models/model.h and that includes
io/tensor_map.h, M needs io too, and the error names both lines. Usage:

  scripts/check-module-includes.py [--root DIR]

It also fails on a circle of headers (a.h includes b.h, which includes a.h, at any depth) anywhere
under src/: the include graph of headers must be a DAG.

Prints file:line: M includes X (not in M's list ...) for each offence, and each header circle, and
exits 1 if there is any.
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([a-z_0-9]+)/([^"]+)"', re.M)


def read_modules(cmake_path):
    """Returns {module: [deps]} in LOOM_MODULES's order."""
    with open(cmake_path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"set\(\s*LOOM_MODULES\b(.*?)\)", text, re.S)
    if not m:
        sys.exit(f"{cmake_path}: no set(LOOM_MODULES ...)")
    modules = {}
    for entry in re.findall(r'"([^"]*)"', m.group(1)):
        name, _, deps = entry.partition(":")
        modules[name] = [d for d in deps.split(",") if d]
    return modules


def includes(path, modules):
    """Yields (line, module, rest) for each quoted include of a module header in the file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for m in INCLUDE.finditer(text):
        if m.group(1) in modules:
            yield text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2)


def check_module(root, name, modules, allowed):
    """Returns the offences for module `name`: its files' includes, followed through headers."""
    offences = []
    folder = os.path.join(root, "src", name)
    queue = [(os.path.join("src", name, f), ()) for f in sorted(os.listdir(folder))
            if f.endswith((".h", ".cpp"))]
    seen = set()
    while queue:
        rel, chain = queue.pop(0)
        if rel in seen:
            continue
        seen.add(rel)
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            continue  # the compiler reports a missing header better than we can
        for line, mod, rest in includes(path, modules):
            where = chain + (f"{rel}:{line}",)
            if mod != name and mod not in allowed:
                via = "" if not chain else " (through " + " -> ".join(where[:-1]) + ")"
                offences.append(f"{where[-1]}: {name} includes {mod}/{rest}, but {mod} is not "
                                f"in {name}'s list [{','.join(modules[name])}]{via}")
            elif mod != name:
                queue.append((os.path.join("src", mod, rest), where))
    return offences


def header_cycles(root, modules):
    """Returns one message per circle among the headers of src/ (an edge is a quoted include)."""
    graph = {}
    for name in modules:
        folder = os.path.join(root, "src", name)
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            if f.endswith(".h"):
                rel = f"{name}/{f}"
                graph[rel] = [(line, f"{mod}/{rest}")
                              for line, mod, rest in includes(os.path.join(folder, f), modules)]
    offences, state, stack = [], {}, []  # state: 1 on the stack, 2 done

    def visit(h):
        state[h] = 1
        stack.append(h)
        for line, dep in graph.get(h, []):
            if state.get(dep) == 1:
                circle = stack[stack.index(dep):] + [dep]
                offences.append(f"src/{h}:{line}: header circle: " + " -> ".join(circle))
            elif dep in graph and dep not in state:
                visit(dep)
        stack.pop()
        state[h] = 2

    for h in graph:
        if h not in state:
            visit(h)
    return offences


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=".", help="repository root (default: .)")
    args = ap.parse_args()
    modules = read_modules(os.path.join(args.root, "CMakeLists.txt"))
    order = list(modules)
    offences = []
    for i, (name, deps) in enumerate(modules.items()):
        for dep in deps:
            if dep not in modules or order.index(dep) >= i:
                offences.append(f"CMakeLists.txt: {name} lists {dep}, which does not come before "
                                f"it in LOOM_MODULES (DESIGN.md's order)")
        if os.path.isdir(os.path.join(args.root, "src", name)):
            offences += check_module(args.root, name, modules, set(deps))
    offences += header_cycles(args.root, modules)
    for o in offences:
        print(o)
    return 1 if offences else 0


if __name__ == "__main__":
    sys.exit(main())
