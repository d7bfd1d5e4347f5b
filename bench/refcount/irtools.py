"""Counting numba's reference-count operations: statically in the optimized LLVM IR, and
dynamically (NUMBA_DEBUG_NRT=1 makes every NRT_incref/NRT_decref on a live array print a line).

    static_refops(dispatcher)   -> {"loop_incref", "loop_decref", "incref", "decref", ...}
    dynamic_refops(module, name, make_args, n1, n2)  (run in a subprocess with NUMBA_DEBUG_NRT=1)

"In the loop" means inside a natural loop of the function's control-flow graph (blocks between
the target of a back edge and its source), found from the IR text: no LLVM bindings needed.
"""
import ctypes
import os
import re
import tempfile

_DEFINE = re.compile(r'^define .*@"?([^"(]+)"?\(')
_LABEL = re.compile(r'^([A-Za-z0-9_.$"\-]+):')
_TARGET = re.compile(r'label %"?([A-Za-z0-9_.$\-]+)"?')


def _functions(llvm_ir):
    """{name: [lines]} of the functions defined in a module's IR text."""
    out = {}
    name = None
    for line in llvm_ir.splitlines():
        m = _DEFINE.match(line)
        if m:
            name = m.group(1)
            out[name] = []
            continue
        if name is not None:
            if line.startswith("}"):
                name = None
            else:
                out[name].append(line)
    return out


def _blocks(lines):
    """Ordered [(label, [lines])]; the entry block is labelled '<entry>'."""
    blocks = [["<entry>", []]]
    for line in lines:
        m = _LABEL.match(line)
        if m:
            blocks.append([m.group(1).strip('"'), []])
        else:
            blocks[-1][1].append(line)
    return [(b[0], b[1]) for b in blocks if b[0] != "<entry>" or b[1]]


def _loop_blocks(blocks):
    """Labels of the blocks inside natural loops (back edge found by DFS from the entry)."""
    succ = {}
    for label, lines in blocks:
        targets = []
        for line in lines:
            s = line.strip()
            if s.startswith("br ") or s.startswith("switch ") or s.startswith("indirectbr") \
                    or s.startswith("]") or s.startswith("i32 ") or s.startswith("i64 ") \
                    or s.startswith("i1 ") or s.startswith("i8 "):
                targets += _TARGET.findall(s)
        succ[label] = targets
    pred = {label: [] for label, _ in blocks}
    for a, targets in succ.items():
        for b in targets:
            pred.setdefault(b, []).append(a)
    entry = blocks[0][0]
    # iterative DFS for back edges
    state = {}
    back = []
    stack = [(entry, iter(succ.get(entry, [])))]
    state[entry] = 1
    while stack:
        node, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            state[node] = 2
            stack.pop()
            continue
        if state.get(nxt) == 1:
            back.append((node, nxt))
        elif nxt not in state:
            state[nxt] = 1
            stack.append((nxt, iter(succ.get(nxt, []))))
    in_loop = set()
    for tail, head in back:
        body = {head, tail}
        work = [tail]
        while work:
            b = work.pop()
            if b == head:
                continue
            for p in pred.get(b, []):
                if p not in body:
                    body.add(p)
                    work.append(p)
        in_loop |= body
    return in_loop


def _count(lines, what):
    pat = "@" + what + "("
    return sum(1 for line in lines if "call" in line and pat in line)


def static_refops(dispatcher, signature=None, name_contains=None):
    """NRT_incref/NRT_decref call sites in the compiled function of ``dispatcher``.

    Returns a dict: ``loop_incref``, ``loop_decref`` (inside loops of the function itself),
    ``incref``, ``decref`` (whole function), ``callees`` (the other numba functions of the
    module that still hold refops: not inlined by LLVM), ``blocks`` (number of blocks).
    """
    if signature is None:
        signature = dispatcher.signatures[0]
    llvm_ir = dispatcher.inspect_llvm(signature)
    funcs = _functions(llvm_ir)
    key = name_contains or dispatcher.py_func.__name__
    main = [f for f in funcs if key in f and not f.startswith("cpython.")
            and not f.startswith("cfunc.")]
    # the function itself: its mangled name holds the qualname followed by the arguments
    main.sort(key=len)
    lines = funcs[main[0]]
    blocks = _blocks(lines)
    loop = _loop_blocks(blocks)
    loop_lines = [line for label, body in blocks if label in loop for line in body]
    callees = {}
    for f, body in funcs.items():
        if f == main[0] or f.startswith("NRT_") or f.startswith("cpython.") \
                or f.startswith("cfunc."):
            continue
        inc, dec = _count(body, "NRT_incref"), _count(body, "NRT_decref")
        if inc or dec:
            callees[f] = (inc, dec)
    return {
        "loop_incref": _count(loop_lines, "NRT_incref"),
        "loop_decref": _count(loop_lines, "NRT_decref"),
        "incref": _count(lines, "NRT_incref"),
        "decref": _count(lines, "NRT_decref"),
        "callees": callees,
        "blocks": len(blocks),
    }


def _capture_c_stdout(fn):
    """Run fn() with file descriptor 1 redirected to a file; return (result, text)."""
    libc = ctypes.CDLL(None)
    with tempfile.TemporaryFile(mode="w+b") as f:
        libc.fflush(None)
        saved = os.dup(1)
        os.dup2(f.fileno(), 1)
        try:
            result = fn()
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
        f.seek(0)
        text = f.read().decode(errors="replace")
    return result, text


def dynamic_refops(fn, make_args, n1, n2):
    """Executed refops per iteration: (increfs, decrefs) of fn(*make_args(n2)) minus
    fn(*make_args(n1)), over n2 - n1. Needs NUMBA_DEBUG_NRT=1 set before numba is imported;
    fn must be compiled already (a warm-up call), so compilation prints nothing here."""
    counts = []
    for n in (n1, n2):
        args = make_args(n)
        _, text = _capture_c_stdout(lambda: fn(*args))
        counts.append((text.count("NRT_Incref"), text.count("NRT_Decref")))
    d = n2 - n1
    return (counts[1][0] - counts[0][0]) / d, (counts[1][1] - counts[0][1]) / d
