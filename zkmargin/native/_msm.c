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
 * The MSMs check nothing: callers pass points that were already decoded and checked. g1_check and
 * g2_check are the decoders' curve and subgroup checks (by endomorphism, below).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include "_bls12_fields.h"

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

/* Fewer pairs than this in a round of batched affine additions: Jacobian additions instead, no inversion. */
#define ROUND_MIN_PAIRS 96

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

/* ---------------------------------------------------------------- subgroup membership by endomorphism
 * A point on the curve is in the prime-order subgroup iff an endomorphism acts on it as a known scalar, which
 * costs two (G1) or one (G2) multiplications by the 64-bit |x| instead of one by the 255-bit r:
 *   G1: sigma(P) == -[x^2] P, sigma(x, y) = (beta x, y) with beta a cube root of unity in Fp.
 *       Bowe, "Faster subgroup checks for BLS12-381", ePrint 2019/814; this form: Scott, "A note on group
 *       membership tests for G1, G2 and GT on BLS pairing-friendly curves", ePrint 2021/1130, section 6.
 *   G2: psi(P) == [x] P, psi the untwist-Frobenius-twist map. Scott, ePrint 2021/1130, section 4.
 * Both are proved exact for BLS12-381 (also El Housni, Guillevic, Piellard, ePrint 2022/352); tests compare
 * them with the multiplication by r on subgroup points, on points of every prime order dividing the cofactors
 * and on their sums with subgroup points. x = -0xd201000000010000 is the curve's parameter. */
#define BLS_X_ABS 0xD201000000010000ULL

/* Plain (not Montgomery) constants, converted at import. beta is the cube root of unity for which sigma acts as
 * -x^2 on G1 (the other one acts as x^2 - 1); psi multiplies conj(x) by 1 / (1 + u)^((p - 1) / 3) = PSI_X_C1 u
 * and conj(y) by 1 / (1 + u)^((p - 1) / 2) = PSI_Y_C0 + PSI_Y_C1 u. */
static const fp PLAIN_BETA = {{0x2E01FFFFFFFEFFFEULL, 0xDE17D813620A0002ULL, 0xDDB3A93BE6F89688ULL,
                              0xBA69C6076A0F77EAULL, 0x5F19672FDF76CE51ULL, 0x0000000000000000ULL}};
static const fp PLAIN_PSI_X_C1 = {{0x8BFD00000000AAADULL, 0x409427EB4F49FFFDULL, 0x897D29650FB85F9BULL,
                                  0xAA0D857D89759AD4ULL, 0xEC02408663D4DE85ULL, 0x1A0111EA397FE699ULL}};
static const fp PLAIN_PSI_Y_C0 = {{0xF1EE7B04121BDEA2ULL, 0x304466CF3E67FA0AULL, 0xEF396489F61EB45EULL,
                                  0x1C3DEDD930B1CF60ULL, 0xE2E9C448D77A2CD9ULL, 0x135203E60180A68EULL}};
static const fp PLAIN_PSI_Y_C1 = {{0xC81084FBEDE3CC09ULL, 0xEE67992F72EC05F4ULL, 0x77F76E17009241C5ULL,
                                  0x48395DABC2D3435EULL, 0x6831E36D6BD17FFEULL, 0x06AF0E0437FF400BULL}};
static const fp PLAIN_FOUR = {{4, 0, 0, 0, 0, 0}};

static fp BETA, FOUR;   /* Montgomery form */
static fp2 PSI_X, PSI_Y, FOUR_1_PLUS_U;

static void subgroup_constants_init(void) {
    fp_mul(&BETA, &PLAIN_BETA, &FP_R2);
    fp_mul(&FOUR, &PLAIN_FOUR, &FP_R2);
    memset(&PSI_X.c0, 0, sizeof(fp));
    fp_mul(&PSI_X.c1, &PLAIN_PSI_X_C1, &FP_R2);
    fp_mul(&PSI_Y.c0, &PLAIN_PSI_Y_C0, &FP_R2);
    fp_mul(&PSI_Y.c1, &PLAIN_PSI_Y_C1, &FP_R2);
    FOUR_1_PLUS_U.c0 = FOUR;
    FOUR_1_PLUS_U.c1 = FOUR;
}

enum { POINT_OK = 0, POINT_NOT_BELOW_P = 1, POINT_OFF_CURVE = 2, POINT_OUTSIDE_SUBGROUP = 3 };

/* A non-identity affine point in G1: on y^2 = x^3 + 4, then sigma(P) == -[x^2] P, i.e. (beta x, -y) == [|x|^2] P. */
static int g1_check_point(const g1_aff *p) {
    fp lhs, rhs, bx, ny;
    fp_sqr(&lhs, &p->y);
    fp_sqr(&rhs, &p->x); fp_mul(&rhs, &rhs, &p->x); fp_add(&rhs, &rhs, &FOUR);
    if (!fp_eq(&lhs, &rhs)) return POINT_OFF_CURVE;
    g1_jac q;
    g1_jac_from_aff(&q, p);
    g1_jac_mul_u64(&q, &q, BLS_X_ABS);
    g1_jac_mul_u64(&q, &q, BLS_X_ABS);
    fp_mul(&bx, &BETA, &p->x);
    fp_neg(&ny, &p->y);
    return g1_jac_eq_aff(&q, &bx, &ny) ? POINT_OK : POINT_OUTSIDE_SUBGROUP;
}

/* A non-identity affine point in G2: on y^2 = x^3 + 4(1 + u), then psi(P) == [x] P, i.e. -psi(P) == [|x|] P. */
static int g2_check_point(const g2_aff *p) {
    fp2 lhs, rhs, px, py;
    fp2_sqr(&lhs, &p->y);
    fp2_sqr(&rhs, &p->x); fp2_mul(&rhs, &rhs, &p->x); fp2_add(&rhs, &rhs, &FOUR_1_PLUS_U);
    if (!fp2_eq(&lhs, &rhs)) return POINT_OFF_CURVE;
    g2_jac q;
    g2_jac_from_aff(&q, p);
    g2_jac_mul_u64(&q, &q, BLS_X_ABS);
    px.c0 = p->x.c0; fp_neg(&px.c1, &p->x.c1);   /* conj(x), the p-power Frobenius */
    fp2_mul(&px, &px, &PSI_X);
    py.c0 = p->y.c0; fp_neg(&py.c1, &p->y.c1);
    fp2_mul(&py, &py, &PSI_Y);
    fp2_neg(&py, &py);
    return g2_jac_eq_aff(&q, &px, &py) ? POINT_OK : POINT_OUTSIDE_SUBGROUP;
}

/* ---------------------------------------------------------------- decompression (ZCash format)
 * The curve library's decompression took about as long as its subgroup check; this is the same arithmetic
 * with the field product above and a windowed exponentiation. */
static const u64 SQRT_EXP[6] = {0xEE7FBFFFFFFFEAABULL, 0x07AAFFFFAC54FFFFULL, 0xD9CC34A83DAC3D89ULL,
                                0xD91DD2E13CE144AFULL, 0x92C6E9ED90D2EB35ULL, 0x0680447A8E5FF9A6ULL}; /* (p + 1) / 4 */
static const u64 SQRT_EXP_LESS_1[6] = {0xEE7FBFFFFFFFEAAAULL, 0x07AAFFFFAC54FFFFULL, 0xD9CC34A83DAC3D89ULL,
                                       0xD91DD2E13CE144AFULL, 0x92C6E9ED90D2EB35ULL, 0x0680447A8E5FF9A6ULL}; /* (p - 3) / 4 */
static const fp PLAIN_HALF = {{0xDCFF7FFFFFFFD556ULL, 0x0F55FFFF58A9FFFFULL, 0xB39869507B587B12ULL,
                              0xB23BA5C279C2895FULL, 0x258DD3DB21A5D66BULL, 0x0D0088F51CBFF34DULL}}; /* 1 / 2 */
static const unsigned char HALF_P_BE[48] = { /* (p - 1) / 2: y above it is the "larger" root in ZCash's rule */
    0x0D, 0x00, 0x88, 0xF5, 0x1C, 0xBF, 0xF3, 0x4D, 0x25, 0x8D, 0xD3, 0xDB, 0x21, 0xA5, 0xD6, 0x6B,
    0xB2, 0x3B, 0xA5, 0xC2, 0x79, 0xC2, 0x89, 0x5F, 0xB3, 0x98, 0x69, 0x50, 0x7B, 0x58, 0x7B, 0x12,
    0x0F, 0x55, 0xFF, 0xFF, 0x58, 0xA9, 0xFF, 0xFF, 0xDC, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xD5, 0x55};
static fp HALF;

static void decompress_constants_init(void) { fp_mul(&HALF, &PLAIN_HALF, &FP_R2); }

/* a^e, 4-bit fixed window: 384 squarings and at most 96 products. */
static void fp_pow(fp *o, const fp *a, const u64 e[6]) {
    fp table[16], r = FP_ONE;
    table[0] = FP_ONE;
    for (int i = 1; i < 16; i++) fp_mul(&table[i], &table[i - 1], a);
    for (int i = 5; i >= 0; i--)
        for (int nibble = 15; nibble >= 0; nibble--) {
            for (int k = 0; k < 4; k++) fp_sqr(&r, &r);
            unsigned d = (unsigned)(e[i] >> (4 * nibble)) & 15;
            if (d) fp_mul(&r, &r, &table[d]);
        }
    *o = r;
}

/* A square root of a (p = 3 mod 4: a^((p + 1) / 4)); 0 when a is not a square. */
static int fp_sqrt(fp *o, const fp *a) {
    fp r, check;
    fp_pow(&r, a, SQRT_EXP);
    fp_sqr(&check, &r);
    if (!fp_eq(&check, a)) return 0;
    *o = r;
    return 1;
}

/* A square root in Fp2 by the norm (the complex method, as zkmargin.backends.base.fp2_sqrt): with s a root of
 * the norm a0^2 + a1^2, one of (a0 +- s) / 2 is a square c = x0^2 and the root is x0 + a1 / (2 x0) u. When
 * a1 != 0 the two candidates multiply to -a1^2 / 4, so exactly one is a square (-1 is not, p = 3 mod 4);
 * if r = ((a0 + s) / 2)^((p + 1) / 4) is no root, r^2 = -(a0 + s) / 2 and x0 = a1 / (2 r) roots the other one,
 * saving its exponentiation; the same exponentiation yields 1 / r. The result is squared and compared, so any slip refuses instead of lying. */
static int fp2_sqrt(fp2 *o, const fp2 *a) {
    if (fp_is_zero(&a->c1)) {
        fp r, neg;
        if (fp_sqrt(&r, &a->c0)) { o->c0 = r; memset(&o->c1, 0, sizeof(fp)); return 1; }
        fp_neg(&neg, &a->c0);
        if (!fp_sqrt(&r, &neg)) return 0;
        memset(&o->c0, 0, sizeof(fp)); o->c1 = r;
        return 1;
    }
    fp norm, t, s, cand, r, inv;
    fp_sqr(&norm, &a->c0); fp_sqr(&t, &a->c1); fp_add(&norm, &norm, &t);
    if (!fp_sqrt(&s, &norm)) return 0;
    fp_add(&cand, &a->c0, &s);
    fp_mul(&cand, &cand, &HALF);
    /* One exponentiation gives both r and 1 / r: with e = cand^((p - 3) / 4), r = e cand and r e = cand^((p - 1) / 2)
     * = +-1 (cand != 0 as a1 != 0), so 1 / r = +-e. */
    fp e, legendre;
    fp_pow(&e, &cand, SQRT_EXP_LESS_1);
    fp_mul(&r, &e, &cand);
    fp_mul(&legendre, &r, &e);
    fp_sqr(&t, &r);
    fp2 root, square;
    fp_mul(&inv, &e, &HALF); /* 1 / (2 r) */
    if (!fp_eq(&legendre, &FP_ONE)) fp_neg(&inv, &inv);
    if (fp_eq(&t, &cand)) {           /* x0 = r, x1 = a1 / (2 r) */
        root.c0 = r;
        fp_mul(&root.c1, &a->c1, &inv);
    } else {                          /* x0 = a1 / (2 r), x1 = a1 / (2 x0) = r */
        fp_mul(&root.c0, &a->c1, &inv);
        root.c1 = r;
    }
    fp2_sqr(&square, &root);
    if (!fp2_eq(&square, a)) return 0;
    *o = root;
    return 1;
}

static int fp_is_larger(const fp *a) {
    unsigned char be[48];
    fp_to_be(be, a);
    return memcmp(be, HALF_P_BE, 48) > 0;
}

/* y from a compressed point's x and sign flag, then the subgroup check when asked: POINT_OK or the reason
 * (POINT_OFF_CURVE: no point has this x). */
static int g1_decompress_point(g1_aff *p, int sign, int check) {
    fp rhs;
    fp_sqr(&rhs, &p->x); fp_mul(&rhs, &rhs, &p->x); fp_add(&rhs, &rhs, &FOUR);
    if (!fp_sqrt(&p->y, &rhs)) return POINT_OFF_CURVE;
    if (fp_is_larger(&p->y) != sign) fp_neg(&p->y, &p->y);
    return check ? g1_check_point(p) : POINT_OK;
}

static int g2_decompress_point(g2_aff *p, int sign, int check) {
    fp2 rhs;
    fp2_sqr(&rhs, &p->x); fp2_mul(&rhs, &rhs, &p->x); fp2_add(&rhs, &rhs, &FOUR_1_PLUS_U);
    if (!fp2_sqrt(&p->y, &rhs)) return POINT_OFF_CURVE;
    int larger = fp_is_zero(&p->y.c1) ? fp_is_larger(&p->y.c0) : fp_is_larger(&p->y.c1);
    if (larger != sign) fp2_neg(&p->y, &p->y);
    return check ? g2_check_point(p) : POINT_OK;
}

/* (body, sign, check): the x of a compressed point with its flag bits cleared (48 bytes in G1; x.c1 || x.c0 in
 * G2), the sign flag, whether to check the subgroup. Returns big-endian x || y as to_xy_bytes_be writes it, or
 * the reason as an int (1 x not below p, 2 no point has this x, 3 outside the subgroup). */
static PyObject *decompress(PyObject *args, unsigned coords) {
    Py_buffer body;
    int sign, check;
    if (!PyArg_ParseTuple(args, "y*pp", &body, &sign, &check)) return NULL;
    if ((size_t)body.len != 24 * coords) {
        PyBuffer_Release(&body);
        return PyErr_Format(PyExc_ValueError, "a compressed point's x is %u bytes", 24 * coords);
    }
    const unsigned char *src = body.buf;
    unsigned char be[192];
    int status = POINT_OK;
    Py_BEGIN_ALLOW_THREADS
    if (coords == 2) {
        g1_aff p;
        if (fp_from_be(&p.x, src)) status = POINT_NOT_BELOW_P;
        else status = g1_decompress_point(&p, sign, check);
        if (status == POINT_OK) { fp_to_be(be, &p.x); fp_to_be(be + 48, &p.y); }
    } else {
        g2_aff p;
        /* ZCash writes c1 before c0. */
        if (fp_from_be(&p.x.c1, src) || fp_from_be(&p.x.c0, src + 48)) status = POINT_NOT_BELOW_P;
        else status = g2_decompress_point(&p, sign, check);
        if (status == POINT_OK) {
            fp_to_be(be, &p.x.c0); fp_to_be(be + 48, &p.x.c1);
            fp_to_be(be + 96, &p.y.c0); fp_to_be(be + 144, &p.y.c1);
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&body);
    if (status != POINT_OK) return PyLong_FromLong(status);
    return PyBytes_FromStringAndSize((const char *)be, 48 * coords);
}

static PyObject *py_g1_decompress(PyObject *self, PyObject *args) { (void)self; return decompress(args, 2); }
static PyObject *py_g2_decompress(PyObject *self, PyObject *args) { (void)self; return decompress(args, 4); }

/* None when every point of n x (48 * coords) bytes of big-endian x || y (all zeros: the identity, which passes)
 * is on the curve and in the prime-order subgroup, else (index, reason) for the first that is not: 1 a
 * coordinate not below p, 2 off the curve, 3 outside the subgroup. */
static PyObject *check_points(PyObject *args, unsigned coords) {
    Py_buffer in;
    if (!PyArg_ParseTuple(args, "y*", &in)) return NULL;
    const size_t outer = 48 * coords;
    if (in.len % outer) {
        PyBuffer_Release(&in);
        return PyErr_Format(PyExc_ValueError, "point data must be a multiple of %zu bytes", outer);
    }
    size_t n = (size_t)in.len / outer, i = 0;
    int status = POINT_OK;
    const unsigned char *src = in.buf;
    Py_BEGIN_ALLOW_THREADS
    for (; i < n; i++, src += outer) {
        fp c[4];
        for (unsigned k = 0; k < coords && status == POINT_OK; k++)
            if (fp_from_be(&c[k], src + 48 * k)) status = POINT_NOT_BELOW_P;
        if (status != POINT_OK) break;
        if (coords == 2) {
            g1_aff p = {c[0], c[1]};
            if (!g1_aff_is_inf(&p)) status = g1_check_point(&p);
        } else {
            g2_aff p = {{c[0], c[1]}, {c[2], c[3]}};
            if (!g2_aff_is_inf(&p)) status = g2_check_point(&p);
        }
        if (status != POINT_OK) break;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&in);
    if (status == POINT_OK) Py_RETURN_NONE;
    return Py_BuildValue("(ni)", (Py_ssize_t)i, status);
}

static PyObject *py_g1_check(PyObject *self, PyObject *args) { (void)self; return check_points(args, 2); }
static PyObject *py_g2_check(PyObject *self, PyObject *args) { (void)self; return check_points(args, 4); }

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

/* (prepared, xy): k_i * base for n scalars, both as prepared points and as big-endian x || y (zeros for the
 * identity); coords 2 (G1) or 4 (G2). */
static PyObject *batch_mul(PyObject *args, unsigned coords) {
    Py_buffer base, scalars;
    if (!PyArg_ParseTuple(args, "y*y*", &base, &scalars)) return NULL;
    size_t point_size = coords * sizeof(fp);
    if ((size_t)base.len != point_size || scalars.len % 32) {
        PyBuffer_Release(&base);
        PyBuffer_Release(&scalars);
        return PyErr_Format(PyExc_ValueError, "need one prepared base point and 32-byte scalars");
    }
    size_t n = (size_t)scalars.len / 32;
    PyObject *prepared = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * point_size));
    PyObject *xy = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * coords * 48));
    int status = -1;
    if (prepared && xy) {
        fp *out = (fp *)PyBytes_AS_STRING(prepared);
        unsigned char *be = (unsigned char *)PyBytes_AS_STRING(xy);
        Py_BEGIN_ALLOW_THREADS
        status = coords == 2 ? g1_batch_mul((g1_aff *)out, base.buf, scalars.buf, n)
                             : g2_batch_mul((g2_aff *)out, base.buf, scalars.buf, n);
        if (!status)
            for (size_t i = 0; i < n * coords; i++) {
                /* The identity is all zeros in both forms (fp_to_be of 0 is 0). */
                fp_to_be(be + 48 * i, &out[i]);
            }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&base);
    PyBuffer_Release(&scalars);
    if (status) {
        Py_XDECREF(prepared);
        Py_XDECREF(xy);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    PyObject *pair = PyTuple_Pack(2, prepared, xy);
    Py_DECREF(prepared);
    Py_DECREF(xy);
    return pair;
}

static PyObject *py_g1_batch_mul(PyObject *self, PyObject *args) { (void)self; return batch_mul(args, 2); }
static PyObject *py_g2_batch_mul(PyObject *self, PyObject *args) { (void)self; return batch_mul(args, 4); }

/* (prepared, c): the fixed-base table of n prepared points for window c (2 <= c <= 20), n x FIXED_ROWS(c) points. */
static PyObject *fixed_table(PyObject *args, unsigned coords) {
    Py_buffer in;
    unsigned c;
    if (!PyArg_ParseTuple(args, "y*I", &in, &c)) return NULL;
    size_t point_size = coords * sizeof(fp);
    if (c < 2 || c > 20 || in.len % point_size) {
        PyBuffer_Release(&in);
        return PyErr_Format(PyExc_ValueError, "need prepared points and a window of 2 to 20 bits");
    }
    size_t n = (size_t)in.len / point_size;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * FIXED_ROWS(c) * point_size));
    int status = -1;
    if (out) {
        void *dst = PyBytes_AS_STRING(out);
        Py_BEGIN_ALLOW_THREADS
        status = coords == 2 ? g1_fixed_table(dst, in.buf, n, c) : g2_fixed_table(dst, in.buf, n, c);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&in);
    if (status) {
        Py_XDECREF(out);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    return out;
}

static PyObject *py_g1_table(PyObject *self, PyObject *args) { (void)self; return fixed_table(args, 2); }
static PyObject *py_g2_table(PyObject *self, PyObject *args) { (void)self; return fixed_table(args, 4); }

/* (table, c, scalars): sum k_i P_i over a fixed_table; the bytes g1_msm / g2_msm give on the points. */
static PyObject *msm_table(PyObject *args, unsigned coords) {
    Py_buffer table, scalars;
    unsigned c;
    if (!PyArg_ParseTuple(args, "y*Iy*", &table, &c, &scalars)) return NULL;
    size_t point_size = coords * sizeof(fp);
    size_t n = (size_t)scalars.len / 32;
    if (c < 2 || c > 20 || scalars.len % 32 || (size_t)table.len != n * FIXED_ROWS(c) * point_size) {
        PyBuffer_Release(&table);
        PyBuffer_Release(&scalars);
        return PyErr_Format(PyExc_ValueError, "need a table of window c for one 32-byte scalar per point");
    }
    unsigned char be[192] = {0};
    int status;
    Py_BEGIN_ALLOW_THREADS
    if (coords == 2) {
        g1_jac sum;
        g1_aff affine;
        status = g1_msm_fixed(&sum, table.buf, c, scalars.buf, n);
        if (!status) {
            g1_jac_to_aff(&affine, &sum);
            if (!g1_aff_is_inf(&affine)) { fp_to_be(be, &affine.x); fp_to_be(be + 48, &affine.y); }
        }
    } else {
        g2_jac sum;
        g2_aff affine;
        status = g2_msm_fixed(&sum, table.buf, c, scalars.buf, n);
        if (!status) {
            g2_jac_to_aff(&affine, &sum);
            if (!g2_aff_is_inf(&affine)) {
                fp_to_be(be, &affine.x.c0); fp_to_be(be + 48, &affine.x.c1);
                fp_to_be(be + 96, &affine.y.c0); fp_to_be(be + 144, &affine.y.c1);
            }
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&table);
    PyBuffer_Release(&scalars);
    if (status) return PyErr_NoMemory();
    return PyBytes_FromStringAndSize((const char *)be, 48 * coords);
}

static PyObject *py_g1_msm_table(PyObject *self, PyObject *args) { (void)self; return msm_table(args, 2); }
static PyObject *py_g2_msm_table(PyObject *self, PyObject *args) { (void)self; return msm_table(args, 4); }

#ifndef ZKMARGIN_EMBEDDED /* _batch.c includes this file for its arithmetic and defines its own module */
static PyMethodDef methods[] = {
    {"g1_points", py_g1_points, METH_VARARGS,
     "Prepared G1 points from n x 96 bytes of big-endian x || y (zeros: infinity), or ZCash uncompressed (zcash=True)."},
    {"g2_points", py_g2_points, METH_VARARGS,
     "Prepared G2 points from n x 192 bytes of big-endian x.c0 || x.c1 || y.c0 || y.c1, or ZCash uncompressed."},
    {"g1_msm", py_g1_msm, METH_VARARGS, "sum k_i P_i over prepared G1 points and n x 32-byte little-endian scalars; 96 bytes x || y."},
    {"g2_msm", py_g2_msm, METH_VARARGS, "sum k_i P_i over prepared G2 points and n x 32-byte little-endian scalars; 192 bytes."},
    {"g1_batch_mul", py_g1_batch_mul, METH_VARARGS,
     "(prepared, xy) of k_i * base for one prepared G1 base and n x 32-byte little-endian scalars."},
    {"g2_batch_mul", py_g2_batch_mul, METH_VARARGS,
     "(prepared, xy) of k_i * base for one prepared G2 base and n x 32-byte little-endian scalars."},
    {"g1_table", py_g1_table, METH_VARARGS,
     "(prepared, c): the fixed-base table (2^(c j) P for j <= 256 / c) of prepared G1 points, for g1_msm_table."},
    {"g2_table", py_g2_table, METH_VARARGS, "(prepared, c): the fixed-base table of prepared G2 points."},
    {"g1_msm_table", py_g1_msm_table, METH_VARARGS,
     "(table, c, scalars): sum k_i P_i over a g1_table, one 32-byte little-endian scalar a point; 96 bytes."},
    {"g2_msm_table", py_g2_msm_table, METH_VARARGS, "(table, c, scalars): sum k_i P_i over a g2_table; 192 bytes."},
    {"g1_check", py_g1_check, METH_VARARGS,
     "None if n x 96 bytes of big-endian x || y are G1 points (zeros: identity), else (index, 1 above p | 2 off curve | 3 outside subgroup)."},
    {"g2_check", py_g2_check, METH_VARARGS,
     "None if n x 192 bytes of big-endian x.c0 || x.c1 || y.c0 || y.c1 are G2 points, else (index, reason) as g1_check."},
    {"g1_decompress", py_g1_decompress, METH_VARARGS,
     "(x, sign, check): 96 bytes x || y of a compressed G1 point (flags cleared), or the reason as g1_check's."},
    {"g2_decompress", py_g2_decompress, METH_VARARGS,
     "(x.c1 || x.c0, sign, check): 192 bytes x || y of a compressed G2 point, or the reason as g1_check's."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_msm", "BLS12-381 multi-scalar multiplication.", -1, methods};

PyMODINIT_FUNC PyInit__msm(void) {
    /* The field product is BMI2/ADX assembly (Intel since 2013, AMD since 2017); without them the caller
     * falls back to the curve library's MSM. */
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("bmi2") || !__builtin_cpu_supports("adx")) {
        PyErr_SetString(PyExc_ImportError, "zkmargin.native._msm needs a CPU with BMI2 and ADX");
        return NULL;
    }
    subgroup_constants_init();
    decompress_constants_init();
    return PyModule_Create(&module);
}
#endif /* ZKMARGIN_EMBEDDED */

#elif !defined(ZKMARGIN_EMBEDDED) /* not x86-64: the caller uses the curve library's MSM */

PyMODINIT_FUNC PyInit__msm(void) {
    PyErr_SetString(PyExc_ImportError, "zkmargin.native._msm is built for x86-64 only");
    return NULL;
}

#endif
