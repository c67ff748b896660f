#!/usr/bin/env python3
"""The layering is enforced by the build: this checks that it is.

  layering.py includes BUILD SRC   compiles probes with each layer's real compile
      command (compile_commands.json): a header of every layer below must compile, a
      header of any other layer must fail as "not found". The same for libbilor
      (bilor/, client/ and core/banned.h only) and for the bilor program.
  layering.py calls BUILD NM LIBBILOR   no layer library refers to a symbol defined
      by a layer that is not below it, and libbilor to none of the server's.
  layering.py table BUILD SRC   scripts/lint.sh reads src/CMakeLists.txt into the
      same table as CMake.

BUILD/layers/layers.txt is the table CMake wrote: "<layer> <library> : <visible>".
"""
import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL: " + msg)
    return 1


def read_table(build):
    table = {}
    with open(os.path.join(build, "layers", "layers.txt")) as f:
        for line in f:
            head, _, visible = line.partition(" : ")
            layer, lib = head.split(" ", 1)
            table[layer] = {"lib": lib, "visible": set(visible.split())}
    return table


def header_of(parent, folder):
    """The header a probe includes to stand for a folder: <folder>/<folder>.h, else
    its first header (banned.h stands for core only in libbilor's own probe)."""
    names = sorted(n for n in os.listdir(os.path.join(parent, folder)) if n.endswith(".h"))
    names = [n for n in names if n == folder + ".h"] or [n for n in names if n != "banned.h"]
    return "%s/%s" % (folder, names[0]) if names else None


def commands(build):
    """target name -> (directory, argv) of the compile of one of its sources."""
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    out = {}
    for e in entries:
        m = re.search(r"CMakeFiles/([^/]+)\.dir/", e.get("output", "") or e["command"])
        if m and m.group(1) not in out:
            argv = e["arguments"] if "arguments" in e else shlex.split(e["command"])
            out[m.group(1)] = (e["directory"], argv)
    return out


def probe_argv(argv, probe):
    """The target's own command with the source swapped for the probe, no output."""
    res, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("-o", "-c", "-MF", "-MT", "-MQ"):
            skip = True
        elif a not in ("-MD", "-MMD"):
            res.append(a)
    return res + ["-fsyntax-only", "-x", "c", probe]


def compile_probe(cmd, tmp, name, headers):
    path = os.path.join(tmp, name + ".c")
    with open(path, "w") as f:
        for h in headers:
            f.write('#include "%s"\n' % h)
        f.write("typedef int probe_nonempty;\n")
    directory, argv = cmd
    p = subprocess.run(probe_argv(argv, path), cwd=directory, capture_output=True, text=True)
    return p.returncode, p.stderr


def not_found(stderr, header):
    h = re.escape(header)
    return re.search(h + r": No such file or directory|'" + h + r"' file not found", stderr)


def check_includes(build, src):
    table = read_table(build)
    cmds = commands(build)
    # folder -> a header of it; folders outside src/ count too (what a layer must not see).
    heads = {layer: header_of(os.path.join(src, "src"), layer) for layer in table}
    heads["client"] = header_of(os.path.join(src, "lib"), "client")
    heads["bilor"] = "bilor/bilor.h"
    # target -> (folders it sees, extra headers it sees); cli links libbilor (`bilor send`),
    # whose public include/ comes with it.
    cases = {}
    for layer, row in table.items():
        cases["bl_" + layer] = (row["visible"] | ({"bilor"} if "cli" in row["visible"] else set()),
                                [])
    cases["bilor"] = cases["bl_cli"]
    cases["bilor_objs"] = ({"bilor", "client"}, ["core/banned.h"])
    jobs, errors = [], 0
    with tempfile.TemporaryDirectory(dir=build) as tmp, \
            concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for target, (visible, extra) in sorted(cases.items()):
            if target not in cmds:
                errors += fail("no compile command for %s in compile_commands.json" % target)
                continue
            ok = [heads[f] for f in sorted(visible) if heads.get(f)] + extra
            jobs.append((target, None, ok,
                         pool.submit(compile_probe, cmds[target], tmp, target + "_ok", ok)))
            for folder, h in sorted(heads.items()):
                if folder not in visible and h:
                    jobs.append((target, folder, [h], pool.submit(
                        compile_probe, cmds[target], tmp, "%s_no_%s" % (target, folder), [h])))
        n_ok = n_no = 0
        for target, folder, hs, fut in jobs:
            rc, err = fut.result()
            if folder is None:
                n_ok += 1
                if rc != 0:
                    errors += fail("%s cannot compile %s:\n%s" % (target, " ".join(hs), err))
            else:
                n_no += 1
                if rc == 0:
                    errors += fail("%s sees %s (%s/ is not below it)" % (target, hs[0], folder))
                elif not not_found(err, hs[0]):
                    errors += fail("%s: %s failed, but not as not found:\n%s" % (target, hs[0], err))
    print("%d probes of allowed includes compiled, %d of forbidden ones failed as not found"
          % (n_ok, n_no))
    return errors


def symbols(nm, lib):
    """(defined, undefined) external symbols of a static library."""
    out = subprocess.run([nm, "-g", "-P", lib], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0].endswith(":"):
            continue
        (undefined if parts[1] in ("U", "w", "v") else defined).add(parts[0])
    return defined, undefined


def check_calls(build, nm, libbilor):
    table = read_table(build)
    syms = {layer: symbols(nm, row["lib"]) for layer, row in table.items()}
    owner = {}
    for layer, (defined, _) in syms.items():
        for s in defined:
            owner[s] = layer
    errors = 0
    # A library's own definitions answer its own references (archives list both).
    for layer, (defined, undefined) in sorted(syms.items()):
        for s in sorted(undefined - defined):
            o = owner.get(s)
            if o and o not in table[layer]["visible"]:
                errors += fail("bl_%s refers to %s of %s/, which is not below it" % (layer, s, o))
    defined, undefined = symbols(nm, libbilor)
    for s in sorted(undefined - defined):
        if s in owner:
            errors += fail("libbilor refers to %s of src/%s/" % (s, owner[s]))
    print("%d layer libraries and libbilor checked for calls upward" % len(table))
    return errors


def check_table(build, src):
    table = read_table(build)
    out = subprocess.run(["bash", os.path.join(src, "scripts", "lint.sh"), "--print-layers"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return fail("lint.sh --print-layers: %s" % out.stderr)
    lint = {}
    for line in out.stdout.splitlines():
        layer, _, visible = line.partition(" : ")
        lint[layer] = set(visible.split())
    cmake = {layer: row["visible"] for layer, row in table.items()}
    if lint != cmake:
        for layer in sorted(set(lint) | set(cmake)):
            if lint.get(layer) != cmake.get(layer):
                print("layer %s: lint %s, CMake %s" % (layer, sorted(lint.get(layer, [])),
                                                      sorted(cmake.get(layer, []))))
        return fail("scripts/lint.sh and src/CMakeLists.txt disagree on the layers")
    print("lint and CMake agree on %d layers" % len(cmake))
    return 0


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    errors = {"includes": check_includes, "calls": check_calls, "table": check_table}[mode](*args)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
