#!/usr/bin/env python3
"""Fails when two modules of one crate depend on each other, directly or through others.

    python3 scripts/module-cycles.py            every crate of the workspace
    python3 scripts/module-cycles.py --graph    also print each crate's module edges

rustc allows module cycles; we don't: a module that needs another's types should find them in a
third that both use (the house rule of issue 17). The check reads the sources as text:

- modules come from the files (`a.rs`, `a/mod.rs`, `a/b.rs`) and inline `mod x { … }` blocks are
  counted as part of their file;
- a reference is any `crate::…`, `super::…` or `self::…` path, with `{…}` groups expanded;
- a name the crate root (or a module's `mod.rs`) re-exports with `pub use` is followed to the
  module that defines it, so a cycle cannot hide behind `crate::Problem`;
- an edge joins the two sibling modules under the references' closest common parent: a child
  using its parent (or a parent its child) is nesting, not a cycle.

Test modules (`#[cfg(test)] mod tests`) and doc comments are not read.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def crates():
    for toml in sorted(ROOT.glob("*/Cargo.toml")):
        src = toml.parent / "src"
        if src.is_dir():
            yield toml.parent.name, src


def module_files(src):
    """{module path tuple: file} for every module file under src (lib.rs is ())."""
    out = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[0] == "bin":
            continue
        if parts[-1] in ("lib", "main") and len(parts) == 1:
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        out[tuple(parts)] = f
    return out


def code_of(path):
    text = path.read_text()
    # Drop test modules: a test may use anything.
    text = re.sub(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{.*", "", text, flags=re.S)
    lines = [l for l in text.splitlines() if not l.lstrip().startswith("//")]
    return "\n".join(lines)


def expand(path_text):
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]]"""
    path_text = re.sub(r"\s+", "", path_text)
    if "{" not in path_text:
        return [[p for p in path_text.split("::") if p]]
    head, rest = path_text.split("{", 1)
    inner = rest[: rest.rfind("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    base = [p for p in head.split("::") if p]
    out = []
    for item in items:
        if item:
            for tail in expand(item):
                out.append(base + tail)
    return out


PATH = re.compile(r"\b(crate|super|self)((?:::(?:\{[^;]*?\}|[A-Za-z_][A-Za-z0-9_]*))+)")


def references(module, code):
    """Absolute paths (lists of segments) that `module`'s code names."""
    out = []
    for m in PATH.finditer(code):
        anchor, rest = m.group(1), m.group(2)
        # Balance braces of a group that the lazy match cut short.
        if rest.count("{") != rest.count("}"):
            start = m.start(2)
            depth, end = 0, start
            for i, ch in enumerate(code[start:], start):
                depth += ch == "{"
                depth -= ch == "}"
                if depth == 0 and ch in ";)":
                    end = i
                    break
            rest = code[start:end]
        for segs in expand(rest):
            base = list(module)
            while segs and segs[0] == "super":
                segs = segs[1:]
                base = base[:-1]
            if anchor == "crate":
                base = []
            elif anchor == "super":
                base = list(module[:-1])
            out.append(base + segs)
    return out


def reexports(module, code):
    """{name: absolute path} for `pub use` lines of a module file."""
    out = {}
    for m in re.finditer(r"pub\s+use\s+([^;]+);", code):
        text = m.group(1)
        for segs in expand(text):
            if segs and segs[0] in ("crate", "self", "super"):
                anchor, segs = segs[0], segs[1:]
                base = [] if anchor == "crate" else list(module) if anchor == "self" else list(module[:-1])
            else:
                base = list(module)
            name = segs[-1]
            if " as " in name:
                name = name.split(" as ")[1]
            out[name] = base + segs
    return out


def resolve(path, modules, exports, seen=0):
    """The module a path lands in: the longest module prefix, following re-exported names."""
    for n in range(len(path), -1, -1):
        prefix = tuple(path[:n])
        if prefix in modules:
            if n < len(path):
                name = path[n]
                target = exports.get(prefix, {}).get(name)
                if target and seen < 8 and tuple(target[:-1]) != prefix:
                    return resolve(target, modules, exports, seen + 1)
            return prefix
    return ()


def edges_of(src):
    files = module_files(src)
    codes = {m: code_of(f) for m, f in files.items()}
    exports = {m: reexports(m, c) for m, c in codes.items()}
    edges = set()
    for module, code in codes.items():
        for ref in references(module, code):
            target = resolve(ref, files, exports)
            n = 0
            while n < min(len(module), len(target)) and module[n] == target[n]:
                n += 1
            if n == len(module) or n == len(target):
                continue  # nesting: one contains the other
            a = module[: n + 1]
            b = target[: n + 1]
            edges.add((a, b))
    return edges


def cycles(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def name(module):
    return "::".join(module) or "crate"


def main():
    show = "--graph" in sys.argv
    found = 0
    checked = 0
    for crate, src in crates():
        edges = edges_of(src)
        checked += 1
        if show:
            for a, b in sorted(edges):
                print(f"{crate}: {name(a)} -> {name(b)}")
        for comp in cycles(edges):
            found += 1
            inner = [f"{name(a)} -> {name(b)}" for a, b in sorted(edges) if a in comp and b in comp]
            print(f"{crate}: module cycle among {', '.join(map(name, comp))}: {'; '.join(inner)}")
    print(f"module cycles: {found} in {checked} crates")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
