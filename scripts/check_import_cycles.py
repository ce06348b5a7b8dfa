#!/usr/bin/env python3
"""Fails on an import cycle between the source files of a Rust crate.

    scripts/check_import_cycles.py [ROOT.rs ...]   default: src/lib.rs src/main.rs
    scripts/check_import_cycles.py --self-test     the check on small synthetic trees

The module tree is followed from each crate root through its `mod NAME;` declarations. A
file depends on another when it names a module of that file by path: in a `use` (grouped
or not), or inline (`crate::dvh::compute(..)`, `super::super::exact::slabs(..)`,
`write::quantize(..)` for a child module). A name a parent re-exports from a child
(`pub use rtdose::DoseGrid;` in `dicom/mod.rs`) is followed to that child, and such a
re-export line is the parent's table of contents, not a dependency of the parent on its
child. A module naming what an ancestor defines (`super::Error`, `crate::ExitCode`) is not
counted either: a parent may call its children and share its own items with them. Not
counted: comments, string literals and `#[cfg(test)]` items (test code may use any module).

Prints every cycle (the files of each strongly connected component, with one line that
makes each edge) and exits 1 if there is one, 0 if there is none.
"""

import os
import re
import sys
import tempfile

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", re.M)
INLINE_MOD = re.compile(r"\bmod\s+(" + IDENT + r")\s*\{")
USE_STMT = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]*);")
INLINE_PATH = re.compile(r"(?<![A-Za-z0-9_$:])(" + IDENT + r"(?:\s*::\s*" + IDENT + r")+)")


def strip_comments_and_strings(text):
    """The source with comments, string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif re.match(r'b?r#*"', text[i:i + 130]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'b?r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'":
            m = re.match(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^'\\\n])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


CFG_TEST = re.compile(r"#\[cfg\(test\)\]")


def blank_test_items(text):
    """The source with every `#[cfg(test)]` item blanked (to its `;` or its closing brace)."""
    while True:
        m = CFG_TEST.search(text)
        if not m:
            return text
        j, nesting = m.end(), 0
        while j < len(text) and not (nesting == 0 and text[j] in "{;"):
            nesting += (text[j] in "([") - (text[j] in ")]")
            j += 1
        depth = 0
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            if depth == 0 and text[j] in ";}":
                break
            j += 1
        text = text[:m.start()] + re.sub(r"[^\n]", " ", text[m.start():j + 1]) + text[j + 1:]


def expand_use_tree(tree):
    """`a::{b, c::{d, e as f}}` -> [['a','b'], ['a','c','d'], ['a','c','e']] (renames dropped)."""
    tree = re.sub(r"\s+as\s+" + IDENT, "", tree)
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [[s for s in tree.split("::") if s]]
    brace = tree.index("{")
    prefix = [s for s in tree[:brace].split("::") if s]
    inner = tree[brace + 1:tree.rindex("}")]
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(inner):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:k])
            start = k + 1
    parts.append(inner[start:])
    paths = []
    for part in parts:
        if part:
            for sub in expand_use_tree(part):
                paths.append(prefix + sub)
    return paths


class Crate:
    """The module tree of one crate: module path (tuple) -> file, and back."""

    def __init__(self, root):
        self.file_of = {}
        self.module_of = {}
        self.text = {}
        self._walk(os.path.normpath(root), ())

    def _walk(self, path, module):
        if path in self.module_of or not os.path.isfile(path):
            return
        self.file_of[module] = path
        self.module_of[path] = module
        with open(path, encoding="utf-8") as f:
            self.text[path] = blank_test_items(strip_comments_and_strings(f.read()))
        base = os.path.basename(path)
        if base in ("lib.rs", "main.rs", "mod.rs"):
            child_dir = os.path.dirname(path)
        else:
            child_dir = os.path.join(os.path.dirname(path), base[:-3])
        for name in MOD_DECL.findall(self.text[path]):
            for candidate in (os.path.join(child_dir, name + ".rs"),
                              os.path.join(child_dir, name, "mod.rs")):
                if os.path.isfile(candidate):
                    self._walk(candidate, module + (name,))
                    break

    def reexports(self, module):
        """Names the module re-exports from one of its own children: name -> child."""
        path = self.file_of[module]
        out = {}
        for m in USE_STMT.finditer(self.text[path]):
            if not m.group(1):
                continue
            for segs in expand_use_tree(m.group(2)):
                if segs and segs[0] == "self":
                    segs = segs[1:]
                if len(segs) >= 2 and module + (segs[0],) in self.file_of:
                    out[segs[-1]] = segs[0]
        return out

    def resolve(self, module, segs):
        """The file a path names from inside `module`, or None (std, an extern crate...)."""
        if not segs:
            return None
        if segs[0] == "crate":
            at, rest = (), segs[1:]
        elif segs[0] in ("super", "self"):
            at, rest = module, segs
            while rest and rest[0] in ("super", "self"):
                if rest[0] == "super":
                    if not at:
                        return None
                    at = at[:-1]
                rest = rest[1:]
        elif module + (segs[0],) in self.file_of:
            at, rest = module, segs
        else:
            return None
        while rest and at + (rest[0],) in self.file_of:
            at, rest = at + (rest[0],), rest[1:]
        while rest:
            child = self.reexports(at).get(rest[0])
            if child is None:
                break
            at = at + (child,)
        return self.file_of[at]


def inline_modules(text):
    """(start, end, name) of every inline `mod name { ... }` block, by brace matching."""
    blocks = []
    for m in INLINE_MOD.finditer(text):
        depth, j = 0, m.end() - 1
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        blocks.append((m.start(), j, m.group(1)))
    return blocks


def module_at(base, blocks, offset):
    inner = [b for b in blocks if b[0] <= offset <= b[1]]
    inner.sort(key=lambda b: b[0])
    return base + tuple(b[2] for b in inner)


def edges_of(crate):
    """{(from_file, to_file): 'file:line: path'} for every dependency between files."""
    edges = {}
    for path, module in crate.module_of.items():
        text = crate.text[path]
        blocks = inline_modules(text)
        spans = []

        def add(offset, segs, shown):
            at = module_at(module, blocks, offset)
            target = crate.resolve(at, segs)
            if target is None or crate.module_of[target] == module[:len(crate.module_of[target])]:
                return  # outside the crate, the file itself or an ancestor
            if (path, target) not in edges:
                line = text.count("\n", 0, offset) + 1
                edges[(path, target)] = f"{path}:{line}: {shown}"

        for m in USE_STMT.finditer(text):
            spans.append((m.start(), m.end()))
            at = module_at(module, blocks, m.start())
            for segs in expand_use_tree(m.group(2)):
                if m.group(1) and len(segs) >= 2 and at + (segs[0],) in crate.file_of:
                    continue  # a parent re-exporting its child's item
                add(m.start(), segs, "use " + "::".join(segs))
        for m in INLINE_PATH.finditer(text):
            if any(a <= m.start() < b for a, b in spans):
                continue
            segs = re.sub(r"\s+", "", m.group(1)).split("::")
            add(m.start(), segs, "::".join(segs))
    return edges


def cycles(nodes, edges):
    """Strongly connected components with more than one file (Tarjan), sorted."""
    succ = {n: sorted(b for (a, b) in edges if a == n) for n in nodes}
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in succ[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return sorted(out)


def check(roots, out=sys.stdout):
    """Prints the cycles of each crate root; returns their number."""
    found = 0
    for root in roots:
        crate = Crate(root)
        edges = edges_of(crate)
        for comp in cycles(crate.module_of.keys(), edges):
            found += 1
            print(f"import cycle between {', '.join(comp)}:", file=out)
            for (a, b), why in sorted(edges.items()):
                if a in comp and b in comp:
                    print(f"  {why}", file=out)
    return found


SELF_TESTS = [
    # (name, files, expected number of cycles)
    ("no cycle", {
        "lib.rs": "pub mod a;\npub mod b;\npub use a::Thing;\n",
        "a.rs": "use crate::b::helper; // crate::b and crate::a in a comment\npub struct Thing;\n",
        "b.rs": 'pub fn helper() -> &\'static str { "crate::a::Thing" }\n',
    }, 0),
    ("two files through use", {
        "lib.rs": "mod a;\nmod b;\n",
        "a.rs": "use crate::b::B;\npub struct A;\n",
        "b.rs": "use super::a::A;\npub struct B;\n",
    }, 1),
    ("three files, grouped use and inline paths", {
        "lib.rs": "pub mod m;\n",
        "m/mod.rs": "pub mod x;\npub mod y;\npub mod z;\n",
        "m/x.rs": "use super::{y::{self, Y}};\n",
        "m/y.rs": "pub struct Y;\nfn f() { crate::m::z::g(); }\n",
        "m/z.rs": "pub fn g() { let _ = super::super::m::x::X; }\npub struct X;\n",
    }, 1),
    ("through a parent's re-export", {
        "lib.rs": "pub mod d;\n",
        "d/mod.rs": "mod read;\nmod dose;\npub use dose::Grid;\n",
        "d/read.rs": "use super::Grid;\npub fn bytes() {}\n",
        "d/dose.rs": "pub struct Grid;\nfn f() { super::read::bytes(); }\n",
    }, 1),
    ("a child module named inline from its parent", {
        "lib.rs": "pub mod p;\npub mod q;\n",
        "p/mod.rs": "pub mod w;\nfn f() { w::go(); }\n",
        "p/w.rs": "pub fn go() { let _ = crate::q::Q; }\n",
        "q.rs": "pub struct Q;\nfn f() { crate::p::go(); }\nuse crate::p as pp;\n",
    }, 1),
    ("a parent and its children sharing items, and a cycle in test code only", {
        "lib.rs": "pub mod p;\npub mod q;\npub struct Error;\n",
        "p/mod.rs": "pub mod w;\npub struct Shared;\nfn f() { w::go(); }\n",
        "p/w.rs": "use super::Shared;\npub fn go() -> crate::Error { crate::Error }\n"
                  "#[cfg(test)]\nmod tests {\n    use crate::q::Q;\n}\n"
                  "#[cfg(test)]\nfn t(x: [u8; 3]) { let _ = crate::q::Q; }\n",
        "q.rs": "pub struct Q;\nfn f() { crate::p::w::go(); }\n",
    }, 0),
]


def self_test():
    failed = 0
    for name, files, want in SELF_TESTS:
        with tempfile.TemporaryDirectory() as tmp:
            for rel, body in files.items():
                path = os.path.join(tmp, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(body)
            with open(os.devnull, "w") as null:
                got = check([os.path.join(tmp, "lib.rs")], out=null)
        status = "ok" if got == want else "FAILED"
        failed += got != want
        print(f"self-test {name}: {got} cycle(s), expected {want}: {status}")
    return 1 if failed else 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    roots = argv or [r for r in ("src/lib.rs", "src/main.rs") if os.path.isfile(r)]
    found = check(roots)
    if found:
        print(f"{found} import cycle(s)", file=sys.stderr)
        return 1
    print(f"no import cycle in {', '.join(roots)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
