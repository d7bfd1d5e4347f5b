"""Recognise the MLPs the compiled path understands and describe them as plain arrays.

Supported: an ``nn.Sequential`` of ``nn.Linear`` layers, each optionally followed by one of
Tanh, ReLU, Softplus, SiLU, ELU, Sigmoid (nn.Identity is skipped), whose first layer takes the
state's last dimension ``n`` (``f(t, y) = net(y)``) or ``n + 1`` (the time appended:
``f(t, y) = net(cat([y, t]))``); passed directly as ``func`` (then ``f(t, y) = net(y)``), or
held by a module whose parameters are exactly the net's and whose ``forward`` is one of the
accepted forms below.

The decision is made from the module's structure alone, never by evaluating it (a probe at
(t0, y0) cannot see a forward such as ``self.net(y) * (1 + 10 * t)``): exact layer types (a
subclass may override ``forward``), no hooks, and the source of ``forward`` parsed with
``ast`` (and checked to compile to the running bytecode). Accepted ``forward(self, t, y)``
bodies: a docstring, ``pass``, ``if self.flag:`` / ``if not self.flag:`` (with ``else``) on a
plain bool/int/float/None attribute, counters ``self.nfe += 1`` (incremented by the solver's
evaluation count, as last_stats counts them), and ``return self.<net>(y)`` or
``return self.<net>(torch.cat([y, T], -1))`` where T is t broadcast to ``y[..., :1]``
(``t.expand(*y.shape[:-1], 1)``, ``t.expand(y.shape[:-1] + (1,))``, ``t.expand_as(y[..., :1])``,
``t * torch.ones_like(y[..., :1])``). Anything else is solved by the torch path.
"""
from __future__ import annotations

import ast
import inspect as _pyinspect
import textwrap
import types
import weakref

import numpy as np
import torch
from torch import nn
from torch.nn.modules import module as _torch_module

from .kernels import ACT_CODES


_layouts = {}   # (layer sizes, biases, activations, time_in, n) -> layout arrays (read only)


def _layout(key):
    """The layout arrays of an MLP, built once per architecture ``key``.

    Keyed by everything they are computed from, so a cached entry can never describe another
    architecture; the arrays are shared between calls and never written (the kernels only
    read them)."""
    hit = _layouts.get(key)
    if hit is not None:
        return hit
    sizes, biases, acts, _time_in, _n = key
    L = len(sizes)
    dims = [sizes[0][0]] + [out for _, out in sizes]
    woff, boff = [], []
    off = 0
    for (n_in, n_out), has_bias in zip(sizes, biases):
        woff.append(off)
        off += n_in * n_out
        if has_bias:
            boff.append(off)
            off += n_out
        else:
            boff.append(-1)
    hit = (off,
           np.array(dims, dtype=np.int64), np.array(woff, dtype=np.int64),
           np.array(boff, dtype=np.int64), np.array([a[0] for a in acts], dtype=np.int64),
           np.array([[a[1], a[2]] for a in acts], dtype=np.float64).reshape(L, 2),
           np.concatenate([[0], np.cumsum(dims)]).astype(np.int64)[:L + 1],
           np.concatenate([[0], np.cumsum(dims[1:])]).astype(np.int64)[:L],
           int(sum(dims)), int(sum(dims[1:])))
    if len(_layouts) >= 256:    # bounded: architectures built in a loop must not pile up
        _layouts.clear()
    _layouts[key] = hit
    return hit


class MLPSpec:
    """Layout arrays of one MLP (see fastode.torch_bridge.kernels) and its parameter list.

    Built afresh at every call from the module as it is then (fastode.torch_bridge.mlp.inspect):
    only the layout arrays, a function of the architecture alone, are shared between calls."""

    def __init__(self, net, params, key):
        # params: the Linear layers' weights and biases in order; key: the architecture
        # (in/out sizes, which layers have a bias, activations, time_in, n), see _layout
        self.net = net
        self.params = params
        self.time_in = key[3]
        self.n = key[4]
        (self.n_theta, self.dims, self.woff, self.boff, self.act, self.actp, self.xoff,
         self.zoff, self.xwidth, self.zwidth) = _layout(key)

    def theta(self):
        """All weights and biases as one new float64 array, read from the parameters now.

        A fresh copy at every call (never a cached one: weights change in place in ways no
        counter sees, e.g. through ``p.data``); numpy views of the CPU parameters, one
        concatenation."""
        try:
            return np.concatenate([p.detach().numpy().reshape(-1) for p in self.params],
                                  dtype=np.float64)
        except RuntimeError:    # a tensor numpy cannot view (e.g. a negative-bit view)
            with torch.no_grad():
                flat = torch.cat([p.detach().reshape(-1) for p in self.params])
            return flat.to(torch.float64).numpy()

    def layout(self):
        return (self.dims, self.woff, self.boff, self.act, self.actp, self.xoff, self.zoff,
                self.time_in)

    def split_grad(self, g):
        """The flat gradient ``g`` (float64, owned by the caller) as one tensor per parameter,
        views of ``g`` in the parameters' shapes (copies in their dtype if not float64)."""
        out = []
        off = 0
        for p in self.params:
            k = p.numel()
            gp = g[off:off + k].reshape(p.shape)
            t = torch.from_numpy(gp)
            out.append(t if p.dtype == torch.float64 else t.to(p.dtype))
            off += k
        return out


def _activation(mod):
    # exact types: a subclass may override forward
    kind = type(mod)
    if kind is nn.Tanh:
        return (ACT_CODES["tanh"], 0.0, 0.0)
    if kind is nn.ReLU:
        return (ACT_CODES["relu"], 0.0, 0.0)
    if kind is nn.Softplus:
        return (ACT_CODES["softplus"], float(mod.beta), float(mod.threshold))
    if kind is nn.SiLU:
        return (ACT_CODES["silu"], 0.0, 0.0)
    if kind is nn.ELU:
        return (ACT_CODES["elu"], float(mod.alpha), 0.0)
    if kind is nn.Sigmoid:
        return (ACT_CODES["sigmoid"], 0.0, 0.0)
    return None


# ---------------------------------------------------------------------------------------
# structure of forward(self, t, y)

class _Unsupported(Exception):
    pass


_T, _Y = "__fastode_t", "__fastode_y"
_CAT = ("torch.cat", "torch.concat", "torch.concatenate")
_COLS = ("{t}.expand(*{y}.shape[:-1], 1)", "{t}.expand({y}.shape[:-1] + (1,))",
         "{t}.expand_as({y}[..., :1])", "{t}.expand_as({y}[..., 0:1])",
         "{t} * torch.ones_like({y}[..., :1])", "torch.ones_like({y}[..., :1]) * {t}",
         "{t} * torch.ones_like({y}[..., 0:1])", "torch.ones_like({y}[..., 0:1]) * {t}")
_CATS = ("{cat}([{y}, {col}], -1)", "{cat}([{y}, {col}], dim=-1)",
         "{cat}(({y}, {col}), -1)", "{cat}(({y}, {col}), dim=-1)")
_cat_dumps = None


def _time_appended_forms():
    """ast dumps of every accepted ``cat([y, t-column], -1)`` (t, y renamed to _T, _Y)."""
    global _cat_dumps
    if _cat_dumps is None:
        _cat_dumps = frozenset(
            ast.dump(ast.parse(form.format(cat=cat, y=_Y, col=col.format(t=_T, y=_Y)),
                               mode="eval").body)
            for cat in _CAT for col in _COLS for form in _CATS)
    return _cat_dumps


class _Normalise(ast.NodeTransformer):
    """Rename t and y to fixed names; write the globals that are torch or torch.<name> as
    ``torch`` / ``torch.<name>``; record the globals read (checked again at every call)."""

    def __init__(self, fn, t, y, self_name):
        self.fn, self.t, self.y, self.self_name = fn, t, y, self_name
        self.globals = {}

    def visit_Name(self, node):
        if node.id == self.t:
            return ast.copy_location(ast.Name(_T, node.ctx), node)
        if node.id == self.y:
            return ast.copy_location(ast.Name(_Y, node.ctx), node)
        if node.id == self.self_name:
            return node
        g = self.fn.__globals__
        if node.id not in g:
            raise _Unsupported(f"forward reads `{node.id}`, which is not a module global")
        obj = g[node.id]
        self.globals[node.id] = obj
        if obj is torch:
            return ast.copy_location(ast.Name("torch", node.ctx), node)
        for attr in ("cat", "concat", "concatenate", "ones_like"):
            if obj is getattr(torch, attr):
                return ast.copy_location(
                    ast.Attribute(ast.Name("torch", ast.Load()), attr, node.ctx), node)
        raise _Unsupported(f"forward reads the global `{node.id}`")


def _self_attr(node, self_name):
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id == self_name:
        return node.attr
    return None


def _statements(body, names, norm):
    self_name = names[0]
    prog = []
    for i, st in enumerate(body):
        if i == 0 and isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) \
                and isinstance(st.value.value, str):
            continue   # docstring
        if isinstance(st, ast.Pass):
            continue
        if isinstance(st, ast.If):
            test, negate = st.test, False
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                test, negate = test.operand, True
            attr = _self_attr(test, self_name)
            if attr is None:
                raise _Unsupported(f"forward tests `{ast.unparse(st.test)}`")
            prog.append(("if", attr, negate, _statements(st.body, names, norm),
                         _statements(st.orelse, names, norm)))
        elif isinstance(st, ast.AugAssign):
            attr = _self_attr(st.target, self_name)
            if attr is None or not isinstance(st.op, ast.Add) \
                    or not isinstance(st.value, ast.Constant) \
                    or type(st.value.value) not in (int, float):
                raise _Unsupported(f"forward does `{ast.unparse(st)}`")
            prog.append(("count", attr, st.value.value))
        elif isinstance(st, ast.Return):
            v = st.value
            if not (isinstance(v, ast.Call) and len(v.args) == 1 and not v.keywords):
                raise _Unsupported(f"forward returns `{ast.unparse(v) if v else None}`")
            net = _self_attr(v.func, self_name)
            if net is None:
                raise _Unsupported(f"forward returns `{ast.unparse(v)}`")
            arg = norm.visit(v.args[0])
            if isinstance(arg, ast.Name) and arg.id == _Y:
                prog.append(("return", net, False))
            elif ast.dump(arg) in _time_appended_forms():
                prog.append(("return", net, True))
            else:
                raise _Unsupported(f"forward returns `{ast.unparse(v)}`")
        else:
            raise _Unsupported(f"forward does `{ast.unparse(st)}`")
    return prog


_forms = weakref.WeakKeyDictionary()   # forward function -> (code, program, globals) or reason


def _forward_program(fn):
    """The accepted form of ``fn`` as a small program, or raise _Unsupported."""
    if not isinstance(fn, types.FunctionType):
        raise _Unsupported("forward is not a plain function")
    hit = _forms.get(fn)
    if hit is not None and hit[0] is fn.__code__:
        if isinstance(hit[1], str):
            raise _Unsupported(hit[1])
        return hit[1], hit[2]
    try:
        prog, used = _parse_forward(fn)
    except _Unsupported as exc:
        _forms[fn] = (fn.__code__, str(exc), None)
        raise
    _forms[fn] = (fn.__code__, prog, used)
    return prog, used


def _parse_forward(fn):
    code = fn.__code__
    if code.co_argcount != 3 or code.co_kwonlyargcount or code.co_posonlyargcount \
            or code.co_flags & (_pyinspect.CO_VARARGS | _pyinspect.CO_VARKEYWORDS) \
            or code.co_freevars:
        raise _Unsupported("forward's signature is not forward(self, t, y)")
    try:
        src = textwrap.dedent(_pyinspect.getsource(fn))
        tree = ast.parse(src)
    except (OSError, TypeError, SyntaxError):
        raise _Unsupported("the source of forward is not available") from None
    fdef = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(fdef, ast.FunctionDef) or fdef.decorator_list:
        raise _Unsupported("forward is not a plain undecorated def")
    # the source must be what runs (a file edited after import is not). CPython compiles
    # `mod.f(...)` differently when `mod` was bound by an import in the module: compile
    # with and without such imports of the module-valued globals forward reads
    modules = [name for name in code.co_names
               if isinstance(fn.__globals__.get(name), types.ModuleType)]
    want = (code.co_code, code.co_consts, code.co_names, code.co_varnames)
    for prefix in ([], [ast.Import([ast.alias("_", name)]) for name in modules]):
        tree = ast.fix_missing_locations(ast.Module(prefix + [fdef], []))
        mod = compile(tree, "<forward>", "exec", dont_inherit=True)
        mine = next((c for c in mod.co_consts if isinstance(c, types.CodeType)), None)
        if mine is not None and \
                (mine.co_code, mine.co_consts, mine.co_names, mine.co_varnames) == want:
            break
    else:
        raise _Unsupported("the source of forward does not match its code")
    names = code.co_varnames[:3]
    norm = _Normalise(fn, names[1], names[2], names[0])
    return _statements(fdef.body, names, norm), norm.globals


def _plain_value(func, attr):
    try:
        v = _pyinspect.getattr_static(func, attr)
    except AttributeError:
        raise _Unsupported(f"forward tests self.{attr}, which is not a plain attribute") \
            from None
    if v is not None and type(v) not in (bool, int, float):
        raise _Unsupported(f"forward tests self.{attr}, a {type(v).__name__}")
    return v


def _resolve(func):
    """(net attribute, time appended, counters) of the branch forward takes for ``func``."""
    fn = type(func).forward
    prog, used = _forward_program(fn)
    for name, obj in used.items():
        if fn.__globals__.get(name) is not obj:
            raise _Unsupported(f"the global `{name}` changed")
    counters = []

    def run(stmts):
        for node in stmts:
            if node[0] == "return":
                return node
            if node[0] == "count":
                v = func.__dict__.get(node[1])
                if type(v) not in (int, float):
                    raise _Unsupported(f"forward counts in self.{node[1]}, not a number")
                counters.append((node[1], node[2]))
            else:
                _, attr, negate, then, other = node
                r = run(then if bool(_plain_value(func, attr)) != negate else other)
                if r is not None:
                    return r
        return None

    ret = run(prog)
    if ret is None:
        raise _Unsupported("forward returns None")
    return ret[1], ret[2], counters


_GLOBAL_HOOKS = ("_global_forward_hooks", "_global_forward_pre_hooks",
                 "_global_backward_hooks", "_global_backward_pre_hooks")


def _modules_of(root):
    """Every module under ``root`` (itself included), each once: what ``root.modules()``
    yields, read from the ``_modules`` dicts directly (no generator chain per call)."""
    seen = {id(root)}
    order = [root]
    i = 0
    while i < len(order):
        for child in order[i]._modules.values():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                order.append(child)
        i += 1
    return order


def _param_ids(mods):
    """ids of the parameters of ``mods`` (the set ``parameters()`` yields)."""
    return {id(v) for m in mods for v in m._parameters.values() if v is not None}


def _hooked(func, mods=None):
    """Why torch would not call the modules' own forward methods as written, or None."""
    if any(getattr(_torch_module, name, None) for name in _GLOBAL_HOOKS):
        return "global module hooks are registered"
    for mod in (_modules_of(func) if mods is None else mods):
        d = mod.__dict__
        if d.get("_forward_hooks") or d.get("_forward_pre_hooks") \
                or d.get("_backward_hooks") or d.get("_backward_pre_hooks"):
            return f"{type(mod).__name__} has hooks"
        if "forward" in d or "__call__" in d:
            return f"{type(mod).__name__}.forward is replaced on the instance"
    return None


class Owner:
    """How a module that holds the net uses it: counters to bump by the evaluation count."""

    def __init__(self, func, counters):
        self.func, self.counters = func, counters

    def count(self, nfev):
        for attr, inc in self.counters:
            self.func.__dict__[attr] = self.func.__dict__[attr] + inc * nfev


def inspect(func, n, dtype=None):
    """(MLPSpec, None) when ``func`` is a supported MLP for states of last dimension n (and
    parameters of ``dtype``); (None, reason) otherwise. Decided from structure alone."""
    counters = []
    if not isinstance(func, nn.Module):
        return None, (f"func is a plain function, not an nn.Sequential MLP or a module "
                      f"holding one")
    cls = type(func)
    if cls.__call__ is not nn.Module.__call__ or cls.__getattr__ is not nn.Module.__getattr__ \
            or cls.__getattribute__ is not object.__getattribute__:
        return None, f"{cls.__name__} overrides how modules are called"
    mods = _modules_of(func)
    reason = _hooked(func, mods)
    if reason is not None:
        return None, reason
    if cls is nn.Sequential:
        net, time_in = func, False     # f(t, y) = net(y)
    elif isinstance(func, nn.Sequential):
        return None, f"func is {cls.__name__}, a subclass of nn.Sequential"
    else:
        try:
            attr, time_in, counters = _resolve(func)
        except _Unsupported as exc:
            return None, (f"{cls.__name__}.forward is not one of the forms the compiled path "
                          f"reads ({exc})")
        net = func._modules.get(attr)
        if attr in func.__dict__ or attr in func._parameters or attr in func._buffers \
                or hasattr(cls, attr) or type(net) is not nn.Sequential:
            return None, f"{cls.__name__}.{attr} is not an nn.Sequential submodule"
        if _param_ids(mods) != _param_ids(_modules_of(net)):
            return None, (f"{cls.__name__} has parameters outside its `{attr}`; "
                          f"the compiled path supports only the net's")
    params, sizes, biases, acts = [], [], [], []
    for mod in net._modules.values():     # what nn.Sequential.__iter__ yields
        kind = type(mod)
        if kind is nn.Linear:
            # weight and bias as Module.__getattr__ finds them (an instance attribute of
            # the same name would shadow them: refused)
            d = mod.__dict__
            if "weight" in d or "bias" in d:
                return None, "a Linear layer's weight or bias is shadowed by an attribute"
            w = mod._parameters.get("weight")
            b = mod._parameters.get("bias")
            n_in, n_out = d.get("in_features"), d.get("out_features")
            # the kernels read the sizes from in/out_features: a weight or bias of another
            # shape (assigned after construction) would be read with the wrong layout
            if w is None or w.shape != (n_out, n_in) or (b is not None and b.shape != (n_out,)):
                return None, (f"a Linear layer's weight "
                              f"{None if w is None else tuple(w.shape)} does not match its "
                              f"in/out_features ({n_in}, {n_out})")
            params.append(w)
            if b is not None:
                params.append(b)
            sizes.append((n_in, n_out))
            biases.append(b is not None)
            acts.append((0, 0.0, 0.0))
        elif kind is nn.Identity:
            continue
        else:
            a = _activation(mod)
            if a is None:
                return None, f"layer {kind.__name__} is not supported by the compiled path"
            if not sizes or acts[-1][0] != 0:
                return None, "an activation must follow a Linear layer (one per layer)"
            acts[-1] = a
    if not sizes:
        return None, "the net has no Linear layer"
    for a, b in zip(sizes[:-1], sizes[1:]):
        if a[1] != b[0]:
            return None, "the Linear layers' sizes do not chain"
    if sizes[-1][1] != n:
        return None, f"the net's output size {sizes[-1][1]} is not the state's {n}"
    want = n + 1 if time_in else n
    if sizes[0][0] != want:
        return None, (f"the net's input size {sizes[0][0]} is not "
                      f"{'the state size + 1 (time appended)' if time_in else 'the state size'}"
                      f" {want}")
    for p in params:
        # torch would refuse to mix dtypes; the compiled path must not quietly accept it
        if not p.is_cpu or (dtype is not None and p.dtype != dtype):
            return None, (f"the net's parameters are {p.dtype} on {p.device}; y0 is {dtype} "
                          f"on cpu")
    spec = MLPSpec(net, params, (tuple(sizes), tuple(biases), tuple(acts), time_in, n))
    spec.owner = Owner(func, counters) if counters else None
    return spec, None
