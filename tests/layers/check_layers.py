#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The build's layers, checked: packet-level libraries (filters/util, net,
sip, sdp, media) -> config/ -> the engine (filters/engine) -> daemon/ (its
kernel/ and netlink/ libraries below the rest of it). A folder may include
headers of its own layer and of the layers it is allowed below it, never of
one above it or beside it; the CMake libraries link the same way, and their
graph has no cycle.

  check_layers.py includes SOURCE_DIR    every #include "..." of filters/, config/, daemon/
  check_layers.py libraries SOURCE_DIR   add_library / target_link_libraries of the same
  check_layers.py self-test              both checks find what they must on a made-up tree

Exit 0 when the tree follows the layers; 1 with one line per violation
(file:line: what it includes and why that is not allowed).
"""
import os
import re
import shutil
import sys
import tempfile

# Each layer (a folder) and the layers it may use, besides itself. The README's
# "Layers" section says the same in words; keep them together.
ALLOWED = {
    "filters/util": set(),
    "filters/net": {"filters/util"},
    "filters/sip": {"filters/util", "filters/net"},
    "filters/sdp": {"filters/util", "filters/net"},
    "filters/media": {"filters/util", "filters/net"},
    "config": {"filters/util", "filters/net"},
    "filters/engine": {"filters/util", "filters/net", "filters/sip", "filters/sdp", "filters/media", "config"},
    "daemon/netlink": {"filters/util", "filters/net"},
    "daemon/kernel": {"filters/util", "filters/net", "config"},
    "daemon": {"filters/util", "filters/net", "filters/sip", "filters/sdp", "filters/media", "config",
               "filters/engine", "daemon/netlink", "daemon/kernel"},
}

# Known violations, each with why it is still there. The check fails when one
# of them is gone, so that this list only shrinks.
KNOWN = {
    ("filters/net/reassembly.h", "filters/engine/bounded_table.h"):
        "header-only building block kept under filters/engine; belongs in filters/util",
    ("filters/net/reassembly.h", "filters/engine/timestamp.h"):
        "header-only clock types kept under filters/engine; belong in filters/util",
    ("filters/sip/tcp_stream.h", "filters/engine/bounded_table.h"):
        "header-only building block kept under filters/engine; belongs in filters/util",
    ("filters/sip/tcp_stream.h", "filters/engine/timestamp.h"):
        "header-only clock types kept under filters/engine; belong in filters/util",
}

ROOTS = ("filters", "config", "daemon")
SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def layer_of(path):
    """The layer of a path relative to the source root: the longest layer
    folder that contains it, or None."""
    best = None
    for layer in ALLOWED:
        if path == layer or path.startswith(layer + "/"):
            if best is None or len(layer) > len(best):
                best = layer
    return best


def source_files(root):
    for top in ROOTS:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")


def check_includes(root, known=KNOWN):
    problems, seen_known, unplaced = [], set(), []
    for rel in source_files(root):
        own = layer_of(rel)
        if own is None:
            unplaced.append(rel)
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                if not target.startswith(tuple(r + "/" for r in ROOTS)):
                    continue   # not a project header ("tests/...", generated files)
                other = layer_of(target)
                if other is None or other == own or other in ALLOWED[own]:
                    continue
                if (rel, target) in known:
                    seen_known.add((rel, target))
                    continue
                problems.append(f'{rel}:{number}: includes "{target}": {own} may not include {other} '
                                f'(it may use: {", ".join(sorted(ALLOWED[own])) or "nothing else"})')
    for rel in unplaced:
        problems.append(f"{rel}: in no layer: add its folder to ALLOWED in {os.path.basename(__file__)}")
    for (rel, target), why in sorted(known.items()):
        if (rel, target) not in seen_known:
            problems.append(f'{rel}: no longer includes "{target}": remove it from KNOWN in '
                            f"{os.path.basename(__file__)} ({why})")
    return problems


CALL = re.compile(r"\b(add_library|add_executable|target_sources|target_link_libraries)\s*\(([^)]*)\)", re.S)
KEYWORDS = {"STATIC", "SHARED", "OBJECT", "INTERFACE", "MODULE", "PUBLIC", "PRIVATE", "IMPORTED", "GLOBAL",
            "EXCLUDE_FROM_ALL", "ALIAS"}


def read_targets(root):
    """{target: {"dir": folder, "sources": [...], "links": [...]}} from the
    CMakeLists.txt under the layer roots."""
    targets = {}
    for top in ROOTS:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            if "CMakeLists.txt" not in files:
                continue
            cmake_dir = os.path.relpath(folder, root).replace(os.sep, "/")
            with open(os.path.join(folder, "CMakeLists.txt"), encoding="utf-8") as f:
                text = re.sub(r"#[^\n]*", "", f.read())
            for kind, args in CALL.findall(text):
                words = args.split()
                if not words:
                    continue
                name, rest = words[0], [w for w in words[1:] if w not in KEYWORDS]
                t = targets.setdefault(name, {"dir": cmake_dir, "sources": [], "links": []})
                if kind in ("add_library", "add_executable", "target_sources"):
                    t["sources"] += [f"{cmake_dir}/{w}" for w in rest if "$" not in w and "." in w]
                else:
                    t["links"] += rest
    return targets


def check_libraries(root):
    targets = read_targets(root)
    problems = []
    layers = {}
    for name, t in sorted(targets.items()):
        found = {layer_of(s) for s in t["sources"]}
        if len(found) > 1:
            problems.append(f"{name}: sources in several layers ({', '.join(sorted(str(x) for x in found))})")
        if len(found) == 1:
            layers[name] = found.pop()
    for name, t in sorted(targets.items()):
        if name not in layers:
            continue
        for dep in t["links"]:
            other = layers.get(dep)
            if other is None or other == layers[name] or other in ALLOWED[layers[name]]:
                continue
            problems.append(f"{name} ({layers[name]}) links {dep} ({other}): {layers[name]} may not use {other}")
    # No cycle among the project's own libraries (interface bundles included).
    own = set(targets)
    state = {}

    def visit(name, path):
        state[name] = "open"
        for dep in targets[name]["links"]:
            if dep not in own:
                continue
            if state.get(dep) == "open":
                cycle = path[path.index(dep):] + [dep] if dep in path else [name, dep]
                problems.append("library cycle: " + " -> ".join(cycle))
            elif dep not in state:
                visit(dep, path + [dep])
        state[name] = "done"

    for name in sorted(targets):
        if name not in state:
            visit(name, [name])
    return problems


def self_test():
    """A made-up tree with one violation of each kind: the checks must report
    exactly those."""
    tmp = tempfile.mkdtemp(prefix="vg-layers-")
    try:
        def write(rel, text):
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        write("filters/net/packet.h", '#include "filters/util/text.h"\n#include "config/policy.h"\n')
        write("filters/util/text.h", "#pragma once\n")
        write("config/policy.h", '#include "filters/net/packet.h"\n')
        write("daemon/logging.cpp", '#include "filters/engine/events.h"\n#include "daemon/logging.h"\n')
        write("filters/CMakeLists.txt",
              "add_library(voipguard_net STATIC net/packet.cpp)\n"
              "target_link_libraries(voipguard_net PUBLIC voipguard_config)  # net may not use config\n")
        write("config/CMakeLists.txt",
              "add_library(voipguard_config STATIC policy.cpp)\ntarget_link_libraries(voipguard_config PUBLIC voipguard_net)\n")
        write("daemon/CMakeLists.txt", "add_library(voipguard_daemon_support STATIC logging.cpp)\n")
        inc = check_includes(tmp, known={("daemon/logging.cpp", "daemon/gone.h"): "test"})
        lib = check_libraries(tmp)
        expected_inc = [
            'filters/net/packet.h:2: includes "config/policy.h": filters/net may not include config '
            "(it may use: filters/util)",
            'daemon/logging.cpp: no longer includes "daemon/gone.h": remove it from KNOWN in '
            f"{os.path.basename(__file__)} (test)",
        ]
        expected_lib = [
            "voipguard_net (filters/net) links voipguard_config (config): filters/net may not use config",
            "library cycle: voipguard_config -> voipguard_net -> voipguard_config",
        ]
        ok = inc == expected_inc and lib == expected_lib
        if not ok:
            print("includes:", *inc, sep="\n  ")
            print("libraries:", *lib, sep="\n  ")
        return [] if ok else ["the checks did not report the planted violations exactly"]
    finally:
        shutil.rmtree(tmp)


def main(argv):
    if len(argv) == 2 and argv[1] == "self-test":
        problems = self_test()
    elif len(argv) == 3 and argv[1] in ("includes", "libraries"):
        root = argv[2]
        problems = check_includes(root) if argv[1] == "includes" else check_libraries(root)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    if not problems:
        print("layers: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
