"""Calling user functions from kernels through plain C function pointers.

The kernels are compiled once (and cached on disk) for every right-hand side: the RHS reaches
them as the integer address of a C-ABI function, and the intrinsics below emit an indirect call
to it. This gives specialised-call speed without recompiling per RHS (docs/design.md, "Passing the RHS").

C signatures:
    rhs   : void   f(double t, const double *y, const double *p, double *dydt)
    event : double g(double t, const double *y, const double *p)
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


def _data_pointer(context, builder, array_type, array_value):
    return context.make_array(array_type)(context, builder, array_value).data


@intrinsic
def call_rhs(typingctx, address, t, y, p, out):
    """Call the C function at ``address`` as ``f(t, y.data, p.data, out.data)``."""
    if not (isinstance(y, types.Array) and isinstance(p, types.Array) and isinstance(out, types.Array)):
        return None
    signature = types.void(address, t, y, p, out)

    def codegen(context, builder, sig, args):
        address_value, t_value, y_value, p_value, out_value = args
        double_ptr = ir.DoubleType().as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ir.DoubleType(), double_ptr, double_ptr, double_ptr])
        fn = builder.inttoptr(address_value, fnty.as_pointer())
        builder.call(fn, [
            t_value,
            _data_pointer(context, builder, sig.args[2], y_value),
            _data_pointer(context, builder, sig.args[3], p_value),
            _data_pointer(context, builder, sig.args[4], out_value),
        ])
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def call_event(typingctx, address, t, y, p):
    """Call the C function at ``address`` as ``g(t, y.data, p.data)`` and return its double."""
    if not (isinstance(y, types.Array) and isinstance(p, types.Array)):
        return None
    signature = types.float64(address, t, y, p)

    def codegen(context, builder, sig, args):
        address_value, t_value, y_value, p_value = args
        double_ptr = ir.DoubleType().as_pointer()
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType(), double_ptr, double_ptr])
        fn = builder.inttoptr(address_value, fnty.as_pointer())
        return builder.call(fn, [
            t_value,
            _data_pointer(context, builder, sig.args[2], y_value),
            _data_pointer(context, builder, sig.args[3], p_value),
        ])

    return signature, codegen


@intrinsic
def call_rhs_row(typingctx, address, t, y, p, out, row):
    """Call ``f(t, y.data, p.data, &out[row, 0])``: writes into one row of a C-contiguous 2-D array
    without creating a view (a view costs a reference-count round trip per call)."""
    if not (isinstance(y, types.Array) and isinstance(p, types.Array) and isinstance(out, types.Array)):
        return None
    signature = types.void(address, t, y, p, out, row)

    def codegen(context, builder, sig, args):
        address_value, t_value, y_value, p_value, out_value, row_value = args
        double_ptr = ir.DoubleType().as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ir.DoubleType(), double_ptr, double_ptr, double_ptr])
        fn = builder.inttoptr(address_value, fnty.as_pointer())
        out_array = context.make_array(sig.args[4])(context, builder, out_value)
        n_cols = builder.extract_value(out_array.shape, 1)
        offset = builder.mul(row_value, n_cols)
        row_ptr = builder.gep(out_array.data, [offset])
        builder.call(fn, [
            t_value,
            _data_pointer(context, builder, sig.args[2], y_value),
            _data_pointer(context, builder, sig.args[3], p_value),
            row_ptr,
        ])
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def double_pointer(typingctx, address):
    """The integer ``address`` as a ``double *`` (for ``carray``): the generated wrappers of
    user functions (fastode.rhs) reach their failure record through it."""
    if not isinstance(address, types.Integer):
        return None
    signature = types.CPointer(types.float64)(address)

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], ir.DoubleType().as_pointer())

    return signature, codegen
