"""Counter-based random numbers for the SDE kernels: Philox4x32-10 and a ziggurat normal.

Every path has its own stream, keyed by (seed, path index): block ``c`` of path ``k`` is
``philox4x32_10(counter=(c, k), key=seed)``, four 32-bit words that depend on nothing else. So
path k draws the same numbers whatever the thread count, the chunking of the paths or the
process it runs in, and one path can be regenerated alone (Salmon et al. 2011, "Parallel random
numbers: as easy as 1, 2, 3"; the constants are theirs and Random123's).

Normals come from Marsaglia & Tsang's 128-layer ziggurat (2000) fed with the Philox words: one
32-bit word per normal 98.8% of the time, no transcendental function. Measured on this machine
(one thread, ``python -m bench.sde --rng``): see docs/benchmarks.md.

``fill_normals`` writes a block of normals and returns the next block counter; leftover words of
the last Philox block are discarded, so the stream a path sees depends only on its sequence of
fill calls (the kernels always fill the same fixed-size buffer).
"""
import math

import numpy as np
from numba import njit

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


@njit(inline="always", cache=True)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """The Philox4x32-10 block function on 32-bit values held in uint64 (4 words out)."""
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        hi0 = p0 >> _S32
        lo0 = p0 & _MASK
        hi1 = p1 >> _S32
        lo1 = p1 & _MASK
        c0 = (hi1 ^ c1 ^ k0) & _MASK
        c1 = lo1
        c2 = (hi0 ^ c3 ^ k1) & _MASK
        c3 = lo0
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


def _ziggurat_tables():
    """Marsaglia & Tsang's RNOR tables (128 layers), for a signed 32-bit draw."""
    dn = 3.442619855899
    tn = dn
    vn = 9.91256303526217e-3
    m1 = 2147483648.0
    kn = np.zeros(128)
    wn = np.zeros(128)
    fn = np.zeros(128)
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0] = (dn / q) * m1
    kn[1] = 0.0
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = (dn / tn) * m1
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


KN, WN, FN = _ziggurat_tables()
_R = 3.442619855899
_TWO32 = 2.0 ** -32


@njit(inline="always", cache=True)
def _signed(word):
    return np.int64(word) - 4294967296 if word >= np.uint64(2147483648) else np.int64(word)


@njit(cache=True, nogil=True, error_model="numpy")
def _slow_normal(hz, iz, k0, k1, p0, p1, block, index):
    """The ziggurat's rare branch (1.2% of draws: the wedges and the tail) for the draw ``hz``,
    word ``index`` (0-3) of the main block ``block``. It takes its uniforms from a stream of its
    own, so the main stream stays 4 normals per block: counter word 1 is the block with the top
    bit set, word 0 the word's index (bits 30-31) plus the attempt. The index matters: without it
    two words of one block that both took this branch drew the same uniforms (two tail draws of
    a block came out with the same magnitude)."""
    kn = KN
    wn = WN
    fn = FN
    x = hz * wn[iz]
    j = np.uint64(index) << np.uint64(30)  # attempts count in the low bits: never 2**30 of them
    top = (np.uint64(block) & np.uint64(0x7FFFFFFF)) | np.uint64(0x80000000)
    result = 0.0
    while True:
        a, b, _, _ = philox4x32_10(j, top, p0, p1, k0, k1)
        j += np.uint64(1)
        ua = (np.float64(a) + 0.5) * _TWO32
        if iz == 0:
            # the tail beyond r: Marsaglia's exponential method
            tx = -math.log(ua) / _R
            y = -math.log((np.float64(b) + 0.5) * _TWO32)
            if y + y >= tx * tx:
                result = _R + tx if hz > 0 else -_R - tx
                break
            continue
        if fn[iz] + ua * (fn[iz - 1] - fn[iz]) < math.exp(-0.5 * x * x):
            result = x
            break
        hz = _signed(b)
        iz = hz & 127
        if abs(hz) < kn[iz]:
            result = hz * wn[iz]
            break
        x = hz * wn[iz]
    return result


@njit(inline="always", cache=True)
def _normal_of(word, k0, k1, p0, p1, block, index):
    hz = _signed(word)
    iz = hz & 127
    if abs(hz) < KN[iz]:
        return hz * WN[iz]
    return _slow_normal(hz, iz, k0, k1, p0, p1, block, index)


@njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)
def fill_normals(buf, start, count, k0, k1, path, ctr):
    """Write ``count`` standard normals into ``buf[start:start + count]`` from the stream of
    ``path`` (key ``k0, k1``), starting at Philox block ``ctr``; returns the next block.

    Each block gives four normals, one per word (the ziggurat's fast test; a word that fails it
    goes to ``_slow_normal``); the words left in the last block are discarded. The blocks are
    made first, in a loop of their own, then turned into normals: the Philox rounds of
    successive blocks then overlap (no ziggurat branch between them), 6.3 -> 3.8 ns per normal
    for the same numbers."""
    p0 = np.uint64(path) & _MASK
    p1 = np.uint64(path) >> _S32
    n_blocks = (count + 3) // 4
    c0 = np.uint64(ctr)
    words = np.empty(4 * n_blocks, dtype=np.uint64)
    for b in range(n_blocks):
        c = c0 + np.uint64(b)
        w0, w1, w2, w3 = philox4x32_10(c & _MASK, c >> _S32, p0, p1, k0, k1)
        words[4 * b] = w0
        words[4 * b + 1] = w1
        words[4 * b + 2] = w2
        words[4 * b + 3] = w3
    for i in range(count):
        buf[start + i] = _normal_of(words[i], k0, k1, p0, p1, c0 + np.uint64(i // 4), i % 4)
    return np.int64(c0 + np.uint64(n_blocks)) + 0 * (words.shape[0] + buf.shape[0])


def seed_key(seed):
    """(k0, k1) uint64 words of a 64-bit seed (the Philox key)."""
    s = int(seed) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(s & 0xFFFFFFFF), np.uint64(s >> 32)


def normals(seed, path, count, ctr=0):
    """``count`` normals of ``path``'s stream (for tests and for regenerating one path)."""
    k0, k1 = seed_key(seed)
    out = np.empty(count)
    fill_normals(out, 0, count, k0, k1, path, ctr)
    return out
