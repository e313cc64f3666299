/* Multi-scalar multiplication over BLS12-381's G1 and G2: sum_i k_i P_i for the prover's five MSMs.
 *
 * Why our own: the curve library's MSM adds every point into its bucket with a projective
 * mixed addition (~11 field multiplications). Here each window's buckets are summed with
 * affine additions batched across all buckets (one inversion per round shared by thousands
 * of additions, ~6 multiplications each), digits are signed (half the buckets), and the
 * window width is chosen from the scalars' actual bit lengths, so the witness's many 0/1
 * and 64-bit values cost one bucket entry per nonzero digit rather than a 255-bit scalar.
 *
 * Points cross the Python boundary as big-endian affine coordinates (x || y; in G2 each
 * coordinate c0 || c1), the point at infinity as all zeros, the layout py_arkworks_bls12381's
 * to_xy_bytes_be writes. Prepared points are kept in Montgomery form (x * 2^384 mod p),
 * little-endian 64-bit limbs. Scalars are 32-byte little-endian integers. The MSM entry
 * points release the GIL, so the prover runs two of them at once.
 *
 * x86-64 only (the field product is BMI2/ADX assembly); elsewhere the module does not import and the
 * prover keeps the curve library's MSM.
 *
 * Nothing here checks that a point is on the curve or in the prime-order subgroup: callers
 * pass points that the curve library already decoded and checked.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

typedef uint64_t u64;
typedef unsigned __int128 u128;

/* ---------------------------------------------------------------- Fp, 6 x 64-bit limbs, Montgomery form */
typedef struct { u64 l[6]; } fp;

static const fp FP_P = {{0xB9FEFFFFFFFFAAABULL, 0x1EABFFFEB153FFFFULL, 0x6730D2A0F6B0F624ULL,
                         0x64774B84F38512BFULL, 0x4B1BA7B6434BACD7ULL, 0x1A0111EA397FE69AULL}};
static const u64 FP_N0 = 0x89F3FFFCFFFCFFFDULL; /* -p^{-1} mod 2^64 */
static const fp FP_R2 = {{0xF4DF1F341C341746ULL, 0x0A76E6A609D104F1ULL, 0x8DE5476C4C95B6D5ULL,
                          0x67EB88A9939D83C0ULL, 0x9A793E85B519952DULL, 0x11988FE592CAE3AAULL}}; /* 2^768 mod p */
static const fp FP_ONE = {{0x760900000002FFFDULL, 0xEBF4000BC40C0002ULL, 0x5F48985753C758BAULL,
                           0x77CE585370525745ULL, 0x5C071A97A256EC6DULL, 0x15F65EC3FA80E493ULL}}; /* 2^384 mod p */
static const fp FP_P_MINUS_2 = {{0xB9FEFFFFFFFFAAA9ULL, 0x1EABFFFEB153FFFFULL, 0x6730D2A0F6B0F624ULL,
                                 0x64774B84F38512BFULL, 0x4B1BA7B6434BACD7ULL, 0x1A0111EA397FE69AULL}};

static inline int fp_is_zero(const fp *a) {
    return (a->l[0] | a->l[1] | a->l[2] | a->l[3] | a->l[4] | a->l[5]) == 0;
}
static inline int fp_eq(const fp *a, const fp *b) { return memcmp(a, b, sizeof *a) == 0; }
static inline void fp_one(fp *o) { *o = FP_ONE; }

/* o = t - p when t >= p (t < 2p), else t. */
static inline void fp_reduce_once(fp *o, const u64 t[6]) {
    unsigned long long d[6];
    unsigned char borrow = 0;
    for (int i = 0; i < 6; i++) borrow = _subborrow_u64(borrow, t[i], FP_P.l[i], &d[i]);
    for (int i = 0; i < 6; i++) o->l[i] = borrow ? t[i] : d[i];
}

static inline void fp_add(fp *o, const fp *a, const fp *b) {
    /* a + b < 2p < 2^382: no carry out of the top limb. */
    unsigned long long t[6];
    unsigned char carry = 0;
    for (int i = 0; i < 6; i++) carry = _addcarry_u64(carry, a->l[i], b->l[i], &t[i]);
    fp_reduce_once(o, (const u64 *)t);
}

static inline void fp_sub(fp *o, const fp *a, const fp *b) {
    unsigned long long t[6];
    unsigned char borrow = 0, carry = 0;
    for (int i = 0; i < 6; i++) borrow = _subborrow_u64(borrow, a->l[i], b->l[i], &t[i]);
    u64 mask = (u64)0 - borrow;
    for (int i = 0; i < 6; i++) carry = _addcarry_u64(carry, t[i], FP_P.l[i] & mask, (unsigned long long *)&o->l[i]);
}

static inline void fp_neg(fp *o, const fp *a) {
    if (fp_is_zero(a)) { *o = *a; return; }
    fp_sub(o, &FP_P, a);
}

/* The CIOS product below keeps its running sum in seven registers r0..r6 and renames them instead of moving
 * limbs: each reduction zeroes the lowest limb, whose register becomes the next row's top limb. */
#define R_(name) "%[" #name "]"

/* t += (t0 * n0 mod 2^64) * p: t0 becomes 0; t < 2p * 2^64 < 2^447, so the top limb never carries out. */
#define MONT_REDUCE(T0, T1, T2, T3, T4, T5, T6) \
    "movq " R_(T0) ", %%rdx\n\t" \
    "imulq %[n0], %%rdx\n\t" \
    "xorq %[zero], %[zero]\n\t" \
    "mulxq 0(%[p]), %[lo], %[x]\n\t"  "adcxq %[lo], " R_(T0) "\n\t" "adoxq %[x], " R_(T1) "\n\t" \
    "mulxq 8(%[p]), %[lo], %[x]\n\t"  "adcxq %[lo], " R_(T1) "\n\t" "adoxq %[x], " R_(T2) "\n\t" \
    "mulxq 16(%[p]), %[lo], %[x]\n\t" "adcxq %[lo], " R_(T2) "\n\t" "adoxq %[x], " R_(T3) "\n\t" \
    "mulxq 24(%[p]), %[lo], %[x]\n\t" "adcxq %[lo], " R_(T3) "\n\t" "adoxq %[x], " R_(T4) "\n\t" \
    "mulxq 32(%[p]), %[lo], %[x]\n\t" "adcxq %[lo], " R_(T4) "\n\t" "adoxq %[x], " R_(T5) "\n\t" \
    "mulxq 40(%[p]), %[lo], %[x]\n\t" "adcxq %[lo], " R_(T5) "\n\t" "adoxq %[x], " R_(T6) "\n\t" \
    "adcxq %[zero], " R_(T6) "\n\t"

/* t (T0..T5) += a * b[off / 8] with two carry chains (adcx for low halves, adox for high halves); T6, zero on
 * entry, receives the new top limb. */
#define MONT_ROW(off, T0, T1, T2, T3, T4, T5, T6) \
    "xorq %[zero], %[zero]\n\t" \
    "movq " #off "(%[b]), %%rdx\n\t" \
    "mulxq 0(%[a]), %[lo], %[x]\n\t"  "adcxq %[lo], " R_(T0) "\n\t" "adoxq %[x], " R_(T1) "\n\t" \
    "mulxq 8(%[a]), %[lo], %[x]\n\t"  "adcxq %[lo], " R_(T1) "\n\t" "adoxq %[x], " R_(T2) "\n\t" \
    "mulxq 16(%[a]), %[lo], %[x]\n\t" "adcxq %[lo], " R_(T2) "\n\t" "adoxq %[x], " R_(T3) "\n\t" \
    "mulxq 24(%[a]), %[lo], %[x]\n\t" "adcxq %[lo], " R_(T3) "\n\t" "adoxq %[x], " R_(T4) "\n\t" \
    "mulxq 32(%[a]), %[lo], %[x]\n\t" "adcxq %[lo], " R_(T4) "\n\t" "adoxq %[x], " R_(T5) "\n\t" \
    "mulxq 40(%[a]), %[lo], " R_(T6) "\n\t" "adcxq %[lo], " R_(T5) "\n\t" "adoxq %[zero], " R_(T6) "\n\t" \
    "adcxq %[zero], " R_(T6) "\n\t"

/* CIOS Montgomery product a * b / 2^384 mod p (a, b < p), in x86-64 BMI2/ADX assembly: mulx leaves the flags
 * alone, so adcx and adox run two independent carry chains. The compiler's 128-bit arithmetic spills and is
 * ~2.5x slower here. */
static inline void fp_mul(fp *o, const fp *a, const fp *b) {
    u64 r0, r1, r2, r3, r4, r5, r6, lo, x, zero;
    __asm__(
        "xorq %[zero], %[zero]\n\t"
        "movq 0(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[r0], %[r1]\n\t"
        "mulxq 8(%[a]), %[lo], %[r2]\n\t"  "adcxq %[lo], %[r1]\n\t"
        "mulxq 16(%[a]), %[lo], %[r3]\n\t" "adcxq %[lo], %[r2]\n\t"
        "mulxq 24(%[a]), %[lo], %[r4]\n\t" "adcxq %[lo], %[r3]\n\t"
        "mulxq 32(%[a]), %[lo], %[r5]\n\t" "adcxq %[lo], %[r4]\n\t"
        "mulxq 40(%[a]), %[lo], %[r6]\n\t" "adcxq %[lo], %[r5]\n\t"
        "adcxq %[zero], %[r6]\n\t"
        MONT_REDUCE(r0, r1, r2, r3, r4, r5, r6)
        MONT_ROW(8, r1, r2, r3, r4, r5, r6, r0) MONT_REDUCE(r1, r2, r3, r4, r5, r6, r0)
        MONT_ROW(16, r2, r3, r4, r5, r6, r0, r1) MONT_REDUCE(r2, r3, r4, r5, r6, r0, r1)
        MONT_ROW(24, r3, r4, r5, r6, r0, r1, r2) MONT_REDUCE(r3, r4, r5, r6, r0, r1, r2)
        MONT_ROW(32, r4, r5, r6, r0, r1, r2, r3) MONT_REDUCE(r4, r5, r6, r0, r1, r2, r3)
        MONT_ROW(40, r5, r6, r0, r1, r2, r3, r4) MONT_REDUCE(r5, r6, r0, r1, r2, r3, r4)
        : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [r4] "=&r"(r4), [r5] "=&r"(r5),
          [r6] "=&r"(r6), [lo] "=&r"(lo), [x] "=&r"(x), [zero] "=&r"(zero)
        : [a] "r"(a->l), [b] "r"(b->l), [p] "r"(FP_P.l), [n0] "m"(FP_N0)
        : "rdx", "cc", "memory");
    const u64 t[6] = {r6, r0, r1, r2, r3, r4};
    fp_reduce_once(o, t);
}

static inline void fp_sqr(fp *o, const fp *a) { fp_mul(o, a, a); }

/* a^(p-2) = 1/a (0 for 0): used once per batch of additions, so plain square-and-multiply is enough. */
static void fp_inv(fp *o, const fp *a) {
    fp r = FP_ONE, base = *a;
    for (int i = 0; i < 6; i++)
        for (int bit = 0; bit < 64; bit++) {
            if ((FP_P_MINUS_2.l[i] >> bit) & 1) fp_mul(&r, &r, &base);
            fp_sqr(&base, &base);
        }
    *o = r;
}

/* Big-endian 48 bytes -> Montgomery form; -1 when the value is not below p. */
static int fp_from_be(fp *o, const unsigned char *be) {
    fp v;
    for (int i = 0; i < 6; i++) {
        u64 limb = 0;
        for (int k = 0; k < 8; k++) limb = (limb << 8) | be[(5 - i) * 8 + k];
        v.l[i] = limb;
    }
    for (int i = 5; i >= 0; i--) {
        if (v.l[i] < FP_P.l[i]) break;
        if (v.l[i] > FP_P.l[i] || i == 0) return -1;
    }
    fp_mul(o, &v, &FP_R2);
    return 0;
}

static void fp_to_be(unsigned char *be, const fp *a) {
    static const fp raw_one = {{1, 0, 0, 0, 0, 0}};
    fp v;
    fp_mul(&v, a, &raw_one);
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 8; k++) be[(5 - i) * 8 + k] = (unsigned char)(v.l[i] >> (8 * (7 - k)));
}

/* ---------------------------------------------------------------- Fp2 = Fp[u] / (u^2 + 1) */
typedef struct { fp c0, c1; } fp2;

static inline int fp2_is_zero(const fp2 *a) { return fp_is_zero(&a->c0) && fp_is_zero(&a->c1); }
static inline int fp2_eq(const fp2 *a, const fp2 *b) { return memcmp(a, b, sizeof *a) == 0; }
static inline void fp2_one(fp2 *o) { o->c0 = FP_ONE; memset(&o->c1, 0, sizeof o->c1); }
static inline void fp2_add(fp2 *o, const fp2 *a, const fp2 *b) { fp_add(&o->c0, &a->c0, &b->c0); fp_add(&o->c1, &a->c1, &b->c1); }
static inline void fp2_sub(fp2 *o, const fp2 *a, const fp2 *b) { fp_sub(&o->c0, &a->c0, &b->c0); fp_sub(&o->c1, &a->c1, &b->c1); }
static inline void fp2_neg(fp2 *o, const fp2 *a) { fp_neg(&o->c0, &a->c0); fp_neg(&o->c1, &a->c1); }

/* Karatsuba: three Fp products. */
static inline void fp2_mul(fp2 *o, const fp2 *a, const fp2 *b) {
    fp v0, v1, sa, sb, t;
    fp_mul(&v0, &a->c0, &b->c0);
    fp_mul(&v1, &a->c1, &b->c1);
    fp_add(&sa, &a->c0, &a->c1);
    fp_add(&sb, &b->c0, &b->c1);
    fp_mul(&t, &sa, &sb);
    fp_sub(&t, &t, &v0);
    fp_sub(&o->c1, &t, &v1);
    fp_sub(&o->c0, &v0, &v1);
}

/* (c0 + c1 u)^2 = (c0 + c1)(c0 - c1) + 2 c0 c1 u. */
static inline void fp2_sqr(fp2 *o, const fp2 *a) {
    fp s, d, m;
    fp_add(&s, &a->c0, &a->c1);
    fp_sub(&d, &a->c0, &a->c1);
    fp_mul(&m, &a->c0, &a->c1);
    fp_mul(&o->c0, &s, &d);
    fp_add(&o->c1, &m, &m);
}

/* 1 / (c0 + c1 u) = (c0 - c1 u) / (c0^2 + c1^2). */
static void fp2_inv(fp2 *o, const fp2 *a) {
    fp n, t;
    fp_sqr(&n, &a->c0);
    fp_sqr(&t, &a->c1);
    fp_add(&n, &n, &t);
    fp_inv(&n, &n);
    fp_mul(&o->c0, &a->c0, &n);
    fp_mul(&t, &a->c1, &n);
    fp_neg(&o->c1, &t);
}

/* ---------------------------------------------------------------- scalars and windows */
static inline u64 load_le64(const unsigned char *b) {
    u64 v = 0;
    for (int k = 7; k >= 0; k--) v = (v << 8) | b[k];
    return v;
}

static unsigned scalar_bits(const unsigned char *s) {
    for (int i = 3; i >= 0; i--) {
        u64 limb = load_le64(s + 8 * i);
        if (limb) return (unsigned)(64 * i + 64 - __builtin_clzll(limb));
    }
    return 0;
}

/* Bits [pos, pos + c) of a 256-bit little-endian scalar, c <= 24. */
static inline u64 scalar_window(const unsigned char *s, unsigned pos, unsigned c) {
    if (pos >= 256) return 0;
    unsigned limb = pos / 64, off = pos % 64;
    u64 v = load_le64(s + 8 * limb) >> off;
    if (off + c > 64 && limb < 3) v |= load_le64(s + 8 * (limb + 1)) << (64 - off);
    return v & (((u64)1 << c) - 1);
}

/* Digits in (-2^(c-1), 2^(c-1)] with sum d_w 2^(cw) = k; windows = bits / c + 1 absorbs the last carry. */
static void signed_digits(int32_t *out, size_t stride, const unsigned char *s, unsigned c, unsigned windows) {
    u64 carry = 0, half = (u64)1 << (c - 1);
    for (unsigned w = 0; w < windows; w++) {
        u64 raw = scalar_window(s, w * c, c) + carry;
        carry = raw > half;
        out[(size_t)w * stride] = carry ? (int32_t)raw - (int32_t)((u64)1 << c) : (int32_t)raw;
    }
}

/* The window width with the least modelled work: one batched affine addition per nonzero digit
 * (a scalar of b bits has about ceil(b / c) of them), and bucket_cost additions' worth for each
 * of the 2^(c-1) buckets every window combines. */
static unsigned choose_window(const size_t hist[257], unsigned maxbits, double bucket_cost) {
    unsigned best = 1;
    double best_cost = -1;
    for (unsigned c = 1; c <= 20; c++) {
        double digits = 0;
        for (unsigned b = 1; b <= maxbits; b++) digits += (double)hist[b] * ((b + c - 1) / c);
        double cost = digits + bucket_cost * (double)(maxbits / c + 1) * (double)((size_t)1 << (c - 1));
        if (best_cost < 0 || cost < best_cost) { best = c; best_cost = cost; }
    }
    return best;
}

/* A bucket costs one mixed and one full Jacobian addition (~27 multiplications) against ~6 for a batched affine one. */
#define BUCKET_COST 4.5

/* ---------------------------------------------------------------- the two groups */
/* How a pair of affine points adds (_msm_group.h's pair_kind). */
enum { SUM_GENERAL = 0, SUM_DOUBLE = 1, SUM_LEFT = 2, SUM_RIGHT = 3, SUM_INF = 4 };

#define FE fp
#define FN(op) fp_##op
#define G(name) g1_##name
#include "_msm_group.h"
#undef FE
#undef FN
#undef G

#define FE fp2
#define FN(op) fp2_##op
#define G(name) g2_##name
#include "_msm_group.h"
#undef FE
#undef FN
#undef G

/* ---------------------------------------------------------------- Python entry points */
/* Coordinates per point: 2 in G1, 4 in G2 (each 48 bytes big-endian outside, one fp inside).
 * zcash: the input is ZCash's uncompressed encoding (the flags in the first byte's top three bits, the
 * infinity flag 0x40 with zero coordinates; G2 coordinates c1 || c0) instead of to_xy_bytes_be's. */
static PyObject *prepare(PyObject *args, unsigned coords) {
    Py_buffer in;
    int zcash = 0;
    if (!PyArg_ParseTuple(args, "y*|p", &in, &zcash)) return NULL;
    const size_t outer = 48 * coords;
    if (in.len % outer) {
        PyBuffer_Release(&in);
        return PyErr_Format(PyExc_ValueError, "point data must be a multiple of %zu bytes", outer);
    }
    size_t n = (size_t)in.len / outer;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * coords * sizeof(fp)));
    if (!out) { PyBuffer_Release(&in); return NULL; }
    fp *dst = (fp *)PyBytes_AS_STRING(out);
    const unsigned char *src = in.buf;
    const char *error = NULL;
    size_t i = 0;
    for (; i < n; i++, src += outer, dst += coords) {
        unsigned char first[48];
        if (zcash) {
            if (src[0] & 0xA0) error = "is compressed or has the sort flag";
            else if (src[0] & 0x40) { memset(dst, 0, coords * sizeof(fp)); continue; }
        }
        for (unsigned k = 0; k < coords && !error; k++) {
            /* ZCash writes c1 before c0 in G2. */
            unsigned from = zcash && coords == 4 ? k ^ 1 : k;
            const unsigned char *be = src + 48 * from;
            if (zcash && from == 0) { memcpy(first, be, 48); first[0] &= 0x1F; be = first; }
            if (fp_from_be(&dst[k], be)) error = "has a coordinate not below p";
        }
        if (error) break;
    }
    PyBuffer_Release(&in);
    if (error) {
        Py_DECREF(out);
        return PyErr_Format(PyExc_ValueError, "point %zu %s", i, error);
    }
    return out;
}

static PyObject *py_g1_points(PyObject *self, PyObject *args) { (void)self; return prepare(args, 2); }
static PyObject *py_g2_points(PyObject *self, PyObject *args) { (void)self; return prepare(args, 4); }

/* Parses (points, scalars), checks sizes; n = number of points. */
static int msm_args(PyObject *args, Py_buffer *points, Py_buffer *scalars, size_t point_size, size_t *n) {
    if (!PyArg_ParseTuple(args, "y*y*", points, scalars)) return -1;
    if (points->len % point_size || (size_t)scalars->len != 32 * ((size_t)points->len / point_size)) {
        PyBuffer_Release(points);
        PyBuffer_Release(scalars);
        PyErr_SetString(PyExc_ValueError, "need one 32-byte scalar per prepared point");
        return -1;
    }
    *n = (size_t)points->len / point_size;
    return 0;
}

static PyObject *py_g1_msm(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer points, scalars;
    size_t n;
    if (msm_args(args, &points, &scalars, sizeof(g1_aff), &n)) return NULL;
    g1_jac sum;
    g1_aff affine;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = g1_msm(&sum, points.buf, scalars.buf, n);
    if (!status) g1_jac_to_aff(&affine, &sum);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&points);
    PyBuffer_Release(&scalars);
    if (status) return PyErr_NoMemory();
    unsigned char be[96] = {0};
    if (!g1_aff_is_inf(&affine)) { fp_to_be(be, &affine.x); fp_to_be(be + 48, &affine.y); }
    return PyBytes_FromStringAndSize((const char *)be, 96);
}

static PyObject *py_g2_msm(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer points, scalars;
    size_t n;
    if (msm_args(args, &points, &scalars, sizeof(g2_aff), &n)) return NULL;
    g2_jac sum;
    g2_aff affine;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = g2_msm(&sum, points.buf, scalars.buf, n);
    if (!status) g2_jac_to_aff(&affine, &sum);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&points);
    PyBuffer_Release(&scalars);
    if (status) return PyErr_NoMemory();
    unsigned char be[192] = {0};
    if (!g2_aff_is_inf(&affine)) {
        fp_to_be(be, &affine.x.c0); fp_to_be(be + 48, &affine.x.c1);
        fp_to_be(be + 96, &affine.y.c0); fp_to_be(be + 144, &affine.y.c1);
    }
    return PyBytes_FromStringAndSize((const char *)be, 192);
}

static PyMethodDef methods[] = {
    {"g1_points", py_g1_points, METH_VARARGS,
     "Prepared G1 points from n x 96 bytes of big-endian x || y (zeros: infinity), or ZCash uncompressed (zcash=True)."},
    {"g2_points", py_g2_points, METH_VARARGS,
     "Prepared G2 points from n x 192 bytes of big-endian x.c0 || x.c1 || y.c0 || y.c1, or ZCash uncompressed."},
    {"g1_msm", py_g1_msm, METH_VARARGS, "sum k_i P_i over prepared G1 points and n x 32-byte little-endian scalars; 96 bytes x || y."},
    {"g2_msm", py_g2_msm, METH_VARARGS, "sum k_i P_i over prepared G2 points and n x 32-byte little-endian scalars; 192 bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_msm", "BLS12-381 multi-scalar multiplication.", -1, methods};

PyMODINIT_FUNC PyInit__msm(void) {
    /* The field product is BMI2/ADX assembly (Intel since 2013, AMD since 2017); without them the caller
     * falls back to the curve library's MSM. */
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("bmi2") || !__builtin_cpu_supports("adx")) {
        PyErr_SetString(PyExc_ImportError, "zkmargin._msm needs a CPU with BMI2 and ADX");
        return NULL;
    }
    return PyModule_Create(&module);
}

#else /* not x86-64: the caller uses the curve library's MSM */

PyMODINIT_FUNC PyInit__msm(void) {
    PyErr_SetString(PyExc_ImportError, "zkmargin._msm is built for x86-64 only");
    return NULL;
}

#endif
