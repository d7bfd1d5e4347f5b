"""Branch-free, vectorisable double-precision exp / tanh for the compiled Neural-ODE kernels
(<= 2 ulp; checked in tests/test_torch_bridge*), and the numba options every bridge kernel uses.

numba's ``math.tanh`` is a scalar libm call, which was the bottleneck of the MLP at batch 512;
these loops vectorise (fastode.torch_bridge.kernels explains the layout they serve).
"""
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# "contract" lets LLVM fuse a * b + c into one FMA (1.6x faster tanh here); it never changes
# the order of operations, only drops a rounding.
_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
_INL = dict(_JIT, inline="always")
# reductions only: reassociation lets LLVM vectorise a dot product (nothing else may use it:
# the exp below relies on the exact rounding of its magic-number trick)
_RED = dict(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})


# ----------------------------------------------------------------------------------------
# vectorisable exp / tanh (double precision, <= 2 ulp; checked in tests/test_torch_bridge*)

@intrinsic
def _f2i(typingctx, x):
    """The bits of a float64 as an int64 (a bitcast LLVM vectorises)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return sig, codegen


@intrinsic
def _i2f(typingctx, x):
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return sig, codegen


_LOG2E = 1.4426950408889634
_LN2HI = 6.93145751953125e-1
_LN2LO = 1.42860682030941723212e-6
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: x + MAGIC rounds x to an integer in the low bits


@njit(**_INL)
def _reduce_ln2(y):
    """(tt, r) with y = k ln2 + r, |r| <= ln2 / 2: k in the low bits of tt = y log2(e) + MAGIC,
    r by Cody and Waite's two-part ln2."""
    tt = y * _LOG2E + _MAGIC
    kf = tt - _MAGIC
    return tt, (y - kf * _LN2HI) - kf * _LN2LO


@njit(**_INL)
def _exp_taylor_quotient(r):
    """(exp(r) - 1) / r by its Taylor polynomial of degree 12 (Horner)."""
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    return p * r + 1.0


@njit(**_INL)
def vexp(y):
    """exp(y) for y clamped to [-708, 708] (NaN stays NaN): y = k ln2 + r, |r| <= ln2 / 2,
    exp(r) by its Taylor polynomial of degree 13, 2**k built in the exponent bits."""
    y = 708.0 if y > 708.0 else y
    y = -708.0 if y < -708.0 else y
    tt, r = _reduce_ln2(y)
    p = _exp_taylor_quotient(r) * r + 1.0
    return p * _i2f((_f2i(tt) + 1023) << 52)


@njit(**_INL)
def vexpm1_neg(y):
    """expm1(y) for y <= 0, clamped at -40 (NaN stays NaN): y = k ln2 + r,
    expm1(y) = 2**k q(r) + (2**k - 1) with q(r) = exp(r) - 1 by its Taylor polynomial of degree
    13 (no cancellation for k = 0, where it is q itself)."""
    y = -40.0 if y < -40.0 else y
    tt, r = _reduce_ln2(y)
    q = _exp_taylor_quotient(r) * r
    sc = _i2f((_f2i(tt) + 1023) << 52)
    return sc * q + (sc - 1.0)


@njit(**_INL)
def vtanh(x):
    """tanh(x) = sign(x) (-m / (2 + m)), m = expm1(-2|x|): branch-free (a loop of it
    vectorises), accurate near 0 (no cancellation) and saturating to +-1."""
    m = vexpm1_neg(-2.0 * abs(x))
    th = -m / (2.0 + m)
    return th if x >= 0.0 else -th


@njit(**_JIT)
def vtanh_array(x, out):
    """out[i] = tanh(x[i]) with the kernels' tanh (tests)."""
    for i in range(x.shape[0]):
        out[i] = vtanh(x[i])


@njit(**_JIT)
def vexp_array(x, out):
    for i in range(x.shape[0]):
        out[i] = vexp(x[i])
