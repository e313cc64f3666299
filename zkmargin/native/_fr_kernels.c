/* Prover kernels over Fr (the BLS12-381 scalar field): radix-2 NTTs, the Groth16 quotient
 * h = (A*B - C) / Z, and the evaluation of the constraint matrices at an assignment.
 *
 * Why C, compiled when the package is installed: the kernels used to be JIT-compiled
 * by numba, which cost a trader's first proof 8-9 s of compilation. Here nothing
 * compiles at run time, and 4 x 64-bit limbs with 128-bit products make a butterfly
 * several times cheaper than numba's 8 x 32-bit limbs.
 *
 * Elements cross the Python boundary as n x 32-byte little-endian canonical integers
 * (< r, checked); inside they are in Montgomery form (x * 2^256 mod r). Every entry
 * point releases the GIL, so the prover's MSM threads keep running.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t u64;
typedef unsigned __int128 u128;

/* r, little-endian 64-bit limbs. r < 2^255, so a + b < 2^256 for a, b < r: no limb overflow. */
static const u64 P[4] = {0xFFFFFFFF00000001ULL, 0x53BDA402FFFE5BFEULL, 0x3339D80809A1D805ULL, 0x73EDA753299D7D48ULL};
static const u64 N0 = 0xFFFFFFFEFFFFFFFFULL; /* -r^{-1} mod 2^64 */
/* 2^512 mod r: mont_mul(x, R2) moves x into Montgomery form. */
static const u64 R2[4] = {0xC999E990F3F29C6DULL, 0x2B6CEDCB87925C23ULL, 0x05D314967254398FULL, 0x0748D9D99F59FF11ULL};
static const u64 ONE[4] = {1, 0, 0, 0};

static inline void sub_p_if_geq(u64 t[4]) {
    u64 d[4];
    u64 borrow = 0;
    for (int j = 0; j < 4; j++) {
        u128 s = (u128)t[j] - P[j] - borrow;
        d[j] = (u64)s;
        borrow = (u64)(s >> 64) & 1;
    }
    if (!borrow) memcpy(t, d, sizeof d);
}

/* CIOS Montgomery product: out = a * b / 2^256 mod r, for a, b < r (portable C). */
static inline void mont_mul_portable(u64 out[4], const u64 a[4], const u64 b[4]) {
    u64 t[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        u64 c = 0;
        for (int j = 0; j < 4; j++) {
            u128 s = (u128)a[j] * b[i] + t[j] + c;
            t[j] = (u64)s;
            c = (u64)(s >> 64);
        }
        u128 s = (u128)t[4] + c;
        t[4] = (u64)s;
        t[5] = (u64)(s >> 64);
        u64 m = t[0] * N0;
        s = (u128)m * P[0] + t[0];
        c = (u64)(s >> 64);
        for (int j = 1; j < 4; j++) {
            s = (u128)m * P[j] + t[j] + c;
            t[j - 1] = (u64)s;
            c = (u64)(s >> 64);
        }
        s = (u128)t[4] + c;
        t[3] = (u64)s;
        t[4] = t[5] + (u64)(s >> 64);
    }
    /* t < 2r < 2^256, so t[4] is zero here and one conditional subtraction reduces. */
    sub_p_if_geq(t);
    memcpy(out, t, 4 * sizeof(u64));
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define HAVE_ADX_ASM 1
/* Set at import when the CPU has BMI2 and ADX (Intel since 2013, AMD since 2017). */
static int use_adx = 0;

/* The same product in BMI2/ADX assembly, ~1.5x faster: mulx leaves the flags alone, so adcx and adox run two
 * carry chains, and the running sum lives in five renamed registers (the compiler's 128-bit arithmetic
 * spills to the stack). Each reduction zeroes the lowest limb, whose register becomes the next top limb;
 * the sum stays below 2r * 2^64 < 2^320, so nothing carries out of five limbs. */
#define FR_R_(name) "%[" #name "]"
#define FR_REDUCE(T0, T1, T2, T3, T4) \
    "movq " FR_R_(T0) ", %%rdx\n\t" "imulq %[n0], %%rdx\n\t" "xorq %[zero], %[zero]\n\t" \
    "mulxq 0(%[p]), %[lo], %[x]\n\t"  "adcxq %[lo], " FR_R_(T0) "\n\t" "adoxq %[x], " FR_R_(T1) "\n\t" \
    "mulxq 8(%[p]), %[lo], %[x]\n\t"  "adcxq %[lo], " FR_R_(T1) "\n\t" "adoxq %[x], " FR_R_(T2) "\n\t" \
    "mulxq 16(%[p]), %[lo], %[x]\n\t" "adcxq %[lo], " FR_R_(T2) "\n\t" "adoxq %[x], " FR_R_(T3) "\n\t" \
    "mulxq 24(%[p]), %[lo], %[x]\n\t" "adcxq %[lo], " FR_R_(T3) "\n\t" "adoxq %[x], " FR_R_(T4) "\n\t" \
    "adcxq %[zero], " FR_R_(T4) "\n\t"
#define FR_ROW(off, T0, T1, T2, T3, T4) \
    "xorq %[zero], %[zero]\n\t" "movq " #off "(%[b]), %%rdx\n\t" \
    "mulxq 0(%[a]), %[lo], %[x]\n\t"  "adcxq %[lo], " FR_R_(T0) "\n\t" "adoxq %[x], " FR_R_(T1) "\n\t" \
    "mulxq 8(%[a]), %[lo], %[x]\n\t"  "adcxq %[lo], " FR_R_(T1) "\n\t" "adoxq %[x], " FR_R_(T2) "\n\t" \
    "mulxq 16(%[a]), %[lo], %[x]\n\t" "adcxq %[lo], " FR_R_(T2) "\n\t" "adoxq %[x], " FR_R_(T3) "\n\t" \
    "mulxq 24(%[a]), %[lo], " FR_R_(T4) "\n\t" "adcxq %[lo], " FR_R_(T3) "\n\t" "adoxq %[zero], " FR_R_(T4) "\n\t" \
    "adcxq %[zero], " FR_R_(T4) "\n\t"

static inline void mont_mul_adx(u64 out[4], const u64 a[4], const u64 b[4]) {
    u64 r0, r1, r2, r3, r4, lo, x, zero;
    __asm__(
        "xorq %[zero], %[zero]\n\t"
        "movq 0(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[r0], %[r1]\n\t"
        "mulxq 8(%[a]), %[lo], %[r2]\n\t"  "adcxq %[lo], %[r1]\n\t"
        "mulxq 16(%[a]), %[lo], %[r3]\n\t" "adcxq %[lo], %[r2]\n\t"
        "mulxq 24(%[a]), %[lo], %[r4]\n\t" "adcxq %[lo], %[r3]\n\t"
        "adcxq %[zero], %[r4]\n\t"
        FR_REDUCE(r0, r1, r2, r3, r4)
        FR_ROW(8, r1, r2, r3, r4, r0) FR_REDUCE(r1, r2, r3, r4, r0)
        FR_ROW(16, r2, r3, r4, r0, r1) FR_REDUCE(r2, r3, r4, r0, r1)
        FR_ROW(24, r3, r4, r0, r1, r2) FR_REDUCE(r3, r4, r0, r1, r2)
        : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [r3] "=&r"(r3), [r4] "=&r"(r4),
          [lo] "=&r"(lo), [x] "=&r"(x), [zero] "=&r"(zero)
        : [a] "r"(a), [b] "r"(b), [p] "r"(P), [n0] "m"(N0)
        : "rdx", "cc", "memory");
    u64 t[4] = {r4, r0, r1, r2};
    sub_p_if_geq(t);
    memcpy(out, t, sizeof t);
}
#endif

static inline void mont_mul(u64 out[4], const u64 a[4], const u64 b[4]) {
#ifdef HAVE_ADX_ASM
    if (use_adx) {
        mont_mul_adx(out, a, b);
        return;
    }
#endif
    mont_mul_portable(out, a, b);
}

#ifdef HAVE_ADX_ASM
/* add/sub with the carry flag (any x86-64): the 128-bit versions below compile to longer chains. */
static inline void add_mod(u64 out[4], const u64 a[4], const u64 b[4]) {
    unsigned long long t[4], d[4];
    unsigned char carry = 0, borrow = 0;
    for (int j = 0; j < 4; j++) carry = _addcarry_u64(carry, a[j], b[j], &t[j]);
    for (int j = 0; j < 4; j++) borrow = _subborrow_u64(borrow, t[j], P[j], &d[j]);
    for (int j = 0; j < 4; j++) out[j] = borrow ? t[j] : d[j];
}

static inline void sub_mod(u64 out[4], const u64 a[4], const u64 b[4]) {
    unsigned long long t[4];
    unsigned char borrow = 0, carry = 0;
    for (int j = 0; j < 4; j++) borrow = _subborrow_u64(borrow, a[j], b[j], &t[j]);
    u64 mask = (u64)0 - borrow;
    for (int j = 0; j < 4; j++) carry = _addcarry_u64(carry, t[j], P[j] & mask, (unsigned long long *)&out[j]);
}
#else
static inline void add_mod(u64 out[4], const u64 a[4], const u64 b[4]) {
    u64 t[4];
    u64 c = 0;
    for (int j = 0; j < 4; j++) {
        u128 s = (u128)a[j] + b[j] + c;
        t[j] = (u64)s;
        c = (u64)(s >> 64);
    }
    sub_p_if_geq(t);
    memcpy(out, t, sizeof t);
}

static inline void sub_mod(u64 out[4], const u64 a[4], const u64 b[4]) {
    u64 t[4];
    u64 borrow = 0;
    for (int j = 0; j < 4; j++) {
        u128 s = (u128)a[j] - b[j] - borrow;
        t[j] = (u64)s;
        borrow = (u64)(s >> 64) & 1;
    }
    if (borrow) {
        u64 c = 0;
        for (int j = 0; j < 4; j++) {
            u128 s = (u128)t[j] + P[j] + c;
            t[j] = (u64)s;
            c = (u64)(s >> 64);
        }
    }
    memcpy(out, t, sizeof t);
}
#endif

/* 32 little-endian bytes -> limbs; returns 0 when the value is not below r. */
static int load_canonical(u64 out[4], const unsigned char *bytes) {
    for (int j = 0; j < 4; j++) {
        u64 limb = 0;
        for (int k = 7; k >= 0; k--) limb = (limb << 8) | bytes[8 * j + k];
        out[j] = limb;
    }
    for (int j = 3; j >= 0; j--) {
        if (out[j] != P[j]) return out[j] < P[j];
    }
    return 0;
}

static void store_canonical(unsigned char *bytes, const u64 x[4]) {
    for (int j = 0; j < 4; j++) {
        for (int k = 0; k < 8; k++) bytes[8 * j + k] = (unsigned char)(x[j] >> (8 * k));
    }
}

/* Whole buffer -> Montgomery limbs; returns the index of the first value >= r, or -1. */
static Py_ssize_t to_montgomery(u64 (*values)[4], const unsigned char *bytes, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!load_canonical(values[i], bytes + 32 * i)) return i;
        mont_mul(values[i], values[i], R2);
    }
    return -1;
}

static void from_montgomery(unsigned char *bytes, u64 (*values)[4], Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        u64 plain[4];
        mont_mul(plain, values[i], ONE);
        store_canonical(bytes + 32 * i, plain);
    }
}

/* values[i] *= scale * base^i (Montgomery constants). */
static void mul_by_powers(u64 (*values)[4], Py_ssize_t n, const u64 scale[4], const u64 base[4]) {
    u64 power[4];
    memcpy(power, scale, sizeof power);
    for (Py_ssize_t i = 0; i < n; i++) {
        mont_mul(values[i], values[i], power);
        mont_mul(power, power, base);
    }
}

/* In-place radix-2 decimation-in-time NTT with root omega (Montgomery).
 * twiddles holds n words: for each stage of span 2h, twiddles[h + k] = (omega^(n/2h))^k for k < h,
 * so the innermost loop reads its twiddles contiguously instead of with a stride of n/2h. */
static void ntt_inplace(u64 (*values)[4], Py_ssize_t n, const u64 omega[4], u64 (*twiddles)[4]) {
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 1; i < n; i++) {
        Py_ssize_t bit = n >> 1;
        while (j & bit) {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if (i < j) {
            u64 tmp[4];
            memcpy(tmp, values[i], sizeof tmp);
            memcpy(values[i], values[j], sizeof tmp);
            memcpy(values[j], tmp, sizeof tmp);
        }
    }
    Py_ssize_t half_n = n >> 1;
    if (half_n == 0) return;
    /* The top stage's powers of omega, then each smaller stage takes every other power of the next. */
    mont_mul(twiddles[half_n], ONE, R2);
    for (Py_ssize_t k = 1; k < half_n; k++) mont_mul(twiddles[half_n + k], twiddles[half_n + k - 1], omega);
    for (Py_ssize_t h = half_n >> 1; h >= 1; h >>= 1) {
        for (Py_ssize_t k = 0; k < h; k++) memcpy(twiddles[h + k], twiddles[2 * h + 2 * k], sizeof twiddles[0]);
    }
    for (Py_ssize_t half = 1; half <= half_n; half <<= 1) {
        const u64 (*tw)[4] = (const u64 (*)[4])(twiddles + half);
        for (Py_ssize_t start = 0; start < n; start += 2 * half) {
            u64 (*lo)[4] = values + start, (*hi)[4] = values + start + half;
            for (Py_ssize_t k = 0; k < half; k++) {
                u64 v[4], u[4];
                mont_mul(v, hi[k], tw[k]);
                memcpy(u, lo[k], sizeof u);
                add_mod(lo[k], u, v);
                sub_mod(hi[k], u, v);
            }
        }
    }
}

/* Constants arrive as 32-byte canonical values; converts one to Montgomery form. */
static int constant_arg(u64 out[4], Py_buffer *buffer, const char *name) {
    if (buffer->len != 32 || !load_canonical(out, buffer->buf)) {
        PyErr_Format(PyExc_ValueError, "%s must be 32 little-endian bytes of a value below r", name);
        return 0;
    }
    mont_mul(out, out, R2);
    return 1;
}

static Py_ssize_t element_count(Py_buffer *buffer, const char *name) {
    Py_ssize_t n = buffer->len / 32;
    if (buffer->len % 32 || n == 0 || (n & (n - 1))) {
        PyErr_Format(PyExc_ValueError, "%s must hold a power-of-two number of 32-byte elements", name);
        return -1;
    }
    return n;
}

static PyObject *out_of_field(const char *name, Py_ssize_t index) {
    return PyErr_Format(PyExc_ValueError, "%s[%zd] is not below r", name, index);
}

PyDoc_STRVAR(transform_doc,
    "transform(values, omega, pre_base, post_scale, post_base) -> bytes\n\n"
    "values[i] *= pre_base^i; NTT with root omega; values[i] *= post_scale * post_base^i.\n"
    "All arguments are 32-byte little-endian canonical elements (values: n of them, n a power of two).");

static PyObject *transform(PyObject *self, PyObject *args) {
    Py_buffer data, omega_b, pre_b, scale_b, post_b;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*", &data, &omega_b, &pre_b, &scale_b, &post_b)) return NULL;
    PyObject *result = NULL;
    u64 (*values)[4] = NULL, (*twiddles)[4] = NULL;
    u64 omega[4], pre[4], scale[4], post[4];
    Py_ssize_t n = element_count(&data, "values");
    if (n < 0 || !constant_arg(omega, &omega_b, "omega") || !constant_arg(pre, &pre_b, "pre_base")
        || !constant_arg(scale, &scale_b, "post_scale") || !constant_arg(post, &post_b, "post_base"))
        goto done;
    values = PyMem_RawMalloc(n * sizeof *values);
    twiddles = PyMem_RawMalloc((n + 1) * sizeof *twiddles);
    result = PyBytes_FromStringAndSize(NULL, data.len);
    if (!values || !twiddles || !result) {
        Py_CLEAR(result);
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t bad;
    Py_BEGIN_ALLOW_THREADS
    bad = to_montgomery(values, data.buf, n);
    if (bad < 0) {
        u64 one[4];
        mont_mul(one, ONE, R2);
        mul_by_powers(values, n, one, pre);
        ntt_inplace(values, n, omega, twiddles);
        mul_by_powers(values, n, scale, post);
        from_montgomery((unsigned char *)PyBytes_AS_STRING(result), values, n);
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        Py_CLEAR(result);
        out_of_field("values", bad);
    }
done:
    PyMem_RawFree(values);
    PyMem_RawFree(twiddles);
    PyBuffer_Release(&data);
    PyBuffer_Release(&omega_b);
    PyBuffer_Release(&pre_b);
    PyBuffer_Release(&scale_b);
    PyBuffer_Release(&post_b);
    return result;
}

PyDoc_STRVAR(quotient_doc,
    "quotient(a, b, c, omega, omega_inv, n_inv, g, g_inv, z_inv) -> bytes\n\n"
    "Coefficients of (A*B - C) / Z from A, B, C on the domain: interpolate, evaluate on the coset g*H\n"
    "(where Z is the constant g^n - 1, z_inv its inverse), divide, interpolate back off the coset.");

static PyObject *quotient(PyObject *self, PyObject *args) {
    Py_buffer bufs[3], consts[6];
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*", &bufs[0], &bufs[1], &bufs[2], &consts[0], &consts[1],
                          &consts[2], &consts[3], &consts[4], &consts[5]))
        return NULL;
    static const char *names[3] = {"a", "b", "c"};
    static const char *const_names[6] = {"omega", "omega_inv", "n_inv", "g", "g_inv", "z_inv"};
    PyObject *result = NULL;
    u64 (*values)[4] = NULL, (*twiddles)[4] = NULL;
    u64 k[6][4];
    Py_ssize_t n = element_count(&bufs[0], "a");
    if (n < 0) goto done;
    for (int i = 1; i < 3; i++) {
        if (bufs[i].len != bufs[0].len) {
            PyErr_SetString(PyExc_ValueError, "a, b and c must have the same length");
            goto done;
        }
    }
    for (int i = 0; i < 6; i++) {
        if (!constant_arg(k[i], &consts[i], const_names[i])) goto done;
    }
    values = PyMem_RawMalloc(3 * n * sizeof *values);
    twiddles = PyMem_RawMalloc((n + 1) * sizeof *twiddles);
    result = PyBytes_FromStringAndSize(NULL, bufs[0].len);
    if (!values || !twiddles || !result) {
        Py_CLEAR(result);
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t bad = -1;
    int bad_array = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int i = 0; i < 3 && bad < 0; i++) {
        bad = to_montgomery(values + i * n, bufs[i].buf, n);
        bad_array = i;
    }
    if (bad < 0) {
        u64 one[4];
        mont_mul(one, ONE, R2);
        for (int i = 0; i < 3; i++) {
            u64 (*array)[4] = values + i * n;
            ntt_inplace(array, n, k[1], twiddles);       /* interpolate (up to the factor 1/n) */
            mul_by_powers(array, n, k[2], k[3]);         /* 1/n, then move to the coset g*H */
            ntt_inplace(array, n, k[0], twiddles);       /* evaluate on g*H */
        }
        u64 (*a)[4] = values, (*b)[4] = values + n, (*c)[4] = values + 2 * n;
        for (Py_ssize_t i = 0; i < n; i++) {
            u64 t[4];
            mont_mul(t, a[i], b[i]);
            sub_mod(t, t, c[i]);
            mont_mul(a[i], t, k[5]);
        }
        ntt_inplace(a, n, k[1], twiddles);
        mul_by_powers(a, n, k[2], k[4]);                 /* 1/n, then back off the coset */
        from_montgomery((unsigned char *)PyBytes_AS_STRING(result), a, n);
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        Py_CLEAR(result);
        out_of_field(names[bad_array], bad);
    }
done:
    PyMem_RawFree(values);
    PyMem_RawFree(twiddles);
    for (int i = 0; i < 3; i++) PyBuffer_Release(&bufs[i]);
    for (int i = 0; i < 6; i++) PyBuffer_Release(&consts[i]);
    return result;
}

/* One sparse matrix in CSR form, as built by zkmargin.r1cs (CompiledR1CS.sparse_rows). */
typedef struct {
    Py_buffer rows, cols, ids, table;
    const int64_t *row_ptr, *col;
    const int32_t *id;
    Py_ssize_t m, terms, table_size;
} csr_t;

static int csr_check(csr_t *x, Py_ssize_t num_vars, const char *name, u64 (**table)[4]) {
    x->m = x->rows.len / 8 - 1;
    x->terms = x->cols.len / 8;
    x->table_size = x->table.len / 32;
    x->row_ptr = x->rows.buf;
    x->col = x->cols.buf;
    x->id = x->ids.buf;
    if (x->rows.len % 8 || x->m < 0 || x->cols.len % 8 || x->ids.len != 4 * x->terms || x->table.len % 32
        || x->row_ptr[0] != 0 || x->row_ptr[x->m] != x->terms) {
        PyErr_Format(PyExc_ValueError, "matrix %s: malformed sparse rows", name);
        return 0;
    }
    for (Py_ssize_t j = 0; j < x->m; j++) {
        if (x->row_ptr[j + 1] < x->row_ptr[j]) {
            PyErr_Format(PyExc_ValueError, "matrix %s: row pointers decrease at row %zd", name, j);
            return 0;
        }
    }
    for (Py_ssize_t t = 0; t < x->terms; t++) {
        if (x->col[t] < 0 || x->col[t] >= num_vars || x->id[t] < 0 || x->id[t] >= x->table_size) {
            PyErr_Format(PyExc_ValueError, "matrix %s: term %zd points outside the assignment or the table", name, t);
            return 0;
        }
    }
    *table = PyMem_RawMalloc((x->table_size + 1) * sizeof **table);
    if (!*table) {
        PyErr_NoMemory();
        return 0;
    }
    for (Py_ssize_t k = 0; k < x->table_size; k++) {
        if (!load_canonical((*table)[k], (const unsigned char *)x->table.buf + 32 * k)) {
            PyErr_Format(PyExc_ValueError, "matrix %s: coefficient %zd is not below r", name, k);
            return 0;
        }
    }
    return 1;
}

/* out[j] = sum of coefficient * z over row j. mont_mul(plain coefficient, z * 2^256) is the plain
 * product, so coefficients need no conversion; a coefficient of one is a plain addition. */
static void csr_rows(u64 (*out)[4], const csr_t *x, u64 (*table)[4], u64 (*z_plain)[4], u64 (*z_mont)[4]) {
    for (Py_ssize_t j = 0; j < x->m; j++) {
        u64 acc[4] = {0, 0, 0, 0};
        for (int64_t t = x->row_ptr[j]; t < x->row_ptr[j + 1]; t++) {
            const u64 *k = table[x->id[t]];
            if (k[0] == 1 && !k[1] && !k[2] && !k[3]) {
                add_mod(acc, acc, z_plain[x->col[t]]);
            } else {
                u64 product[4];
                mont_mul(product, k, z_mont[x->col[t]]);
                add_mod(acc, acc, product);
            }
        }
        memcpy(out[j], acc, sizeof acc);
    }
}

PyDoc_STRVAR(evaluate_doc,
    "evaluate(z, n, num_inputs, a_rows, a_cols, a_ids, a_table, b_..., c_...) -> (a, b, c, bad_row)\n\n"
    "A, B, C on the domain of size n for assignment z (32-byte elements): row j < m holds the matrix row's\n"
    "dot product with z; rows m .. m + num_inputs - 1 of A hold z[0 .. num_inputs - 1]; the rest are zero.\n"
    "bad_row is the first row where A * B != C, or -1. Each matrix is CSR: int64 row pointers, int64\n"
    "columns, int32 indices into a table of 32-byte coefficients.");

static PyObject *evaluate(PyObject *self, PyObject *args) {
    Py_buffer zbuf;
    Py_ssize_t n, num_inputs;
    csr_t x[3];
    memset(x, 0, sizeof x);
    if (!PyArg_ParseTuple(args, "y*nny*y*y*y*y*y*y*y*y*y*y*y*", &zbuf, &n, &num_inputs, &x[0].rows, &x[0].cols,
                          &x[0].ids, &x[0].table, &x[1].rows, &x[1].cols, &x[1].ids, &x[1].table, &x[2].rows,
                          &x[2].cols, &x[2].ids, &x[2].table))
        return NULL;
    static const char *names[3] = {"a", "b", "c"};
    PyObject *result = NULL, *outs[3] = {NULL, NULL, NULL};
    u64 (*tables[3])[4] = {NULL, NULL, NULL};
    u64 (*z_plain)[4] = NULL, (*z_mont)[4] = NULL, (*evals)[4] = NULL;
    Py_ssize_t num_vars = zbuf.len / 32;
    if (zbuf.len % 32 || num_vars < num_inputs || num_inputs < 1) {
        PyErr_SetString(PyExc_ValueError, "z must hold at least num_inputs 32-byte elements");
        goto done;
    }
    for (int i = 0; i < 3; i++) {
        if (!csr_check(&x[i], num_vars, names[i], &tables[i])) goto done;
    }
    Py_ssize_t m = x[0].m;
    if (x[1].m != m || x[2].m != m || n <= 0 || (n & (n - 1)) || m + num_inputs > n) {
        PyErr_SetString(PyExc_ValueError, "the matrices need the same row count, and rows plus inputs must fit the domain");
        goto done;
    }
    z_plain = PyMem_RawMalloc(num_vars * sizeof *z_plain);
    z_mont = PyMem_RawMalloc(num_vars * sizeof *z_mont);
    evals = PyMem_RawMalloc(3 * n * sizeof *evals);
    for (int i = 0; i < 3; i++) outs[i] = PyBytes_FromStringAndSize(NULL, 32 * n);
    if (!z_plain || !z_mont || !evals || !outs[0] || !outs[1] || !outs[2]) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t bad_z = -1, bad_row = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < num_vars && bad_z < 0; i++) {
        if (!load_canonical(z_plain[i], (const unsigned char *)zbuf.buf + 32 * i)) bad_z = i;
        else mont_mul(z_mont[i], z_plain[i], R2);
    }
    if (bad_z < 0) {
        memset(evals, 0, 3 * n * sizeof *evals);
        for (int i = 0; i < 3; i++) csr_rows(evals + i * n, &x[i], tables[i], z_plain, z_mont);
        for (Py_ssize_t j = 0; j < num_inputs; j++) memcpy(evals[m + j], z_plain[j], sizeof evals[0]);
        for (Py_ssize_t j = 0; j < m && bad_row < 0; j++) {
            /* a * b / 2^256 against c / 2^256: equal exactly when a * b = c. */
            u64 ab[4], c[4];
            mont_mul(ab, evals[j], evals[n + j]);
            mont_mul(c, evals[2 * n + j], ONE);
            if (memcmp(ab, c, sizeof ab)) bad_row = j;
        }
        for (int i = 0; i < 3; i++) {
            unsigned char *out = (unsigned char *)PyBytes_AS_STRING(outs[i]);
            for (Py_ssize_t j = 0; j < n; j++) store_canonical(out + 32 * j, evals[i * n + j]);
        }
    }
    Py_END_ALLOW_THREADS
    if (bad_z >= 0) {
        out_of_field("z", bad_z);
        goto done;
    }
    result = Py_BuildValue("(OOOn)", outs[0], outs[1], outs[2], bad_row);
done:
    for (int i = 0; i < 3; i++) {
        Py_XDECREF(outs[i]);
        PyMem_RawFree(tables[i]);
        PyBuffer_Release(&x[i].rows);
        PyBuffer_Release(&x[i].cols);
        PyBuffer_Release(&x[i].ids);
        PyBuffer_Release(&x[i].table);
    }
    PyMem_RawFree(z_plain);
    PyMem_RawFree(z_mont);
    PyMem_RawFree(evals);
    PyBuffer_Release(&zbuf);
    return result;
}

/* Tests run the portable product on CPUs that have the assembly one: set_assembly(False), then back. */
static PyObject *set_assembly(PyObject *self, PyObject *args) {
    (void)self;
    int wanted;
    if (!PyArg_ParseTuple(args, "p", &wanted)) return NULL;
#ifdef HAVE_ADX_ASM
    int had = use_adx;
    __builtin_cpu_init();
    use_adx = wanted && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx");
    return PyBool_FromLong(had);
#else
    (void)wanted;
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"set_assembly", set_assembly, METH_VARARGS,
     "Use the BMI2/ADX field product when the CPU has it (True) or the portable one; returns the previous choice."},
    {"evaluate", evaluate, METH_VARARGS, evaluate_doc},
    {"transform", transform, METH_VARARGS, transform_doc},
    {"quotient", quotient, METH_VARARGS, quotient_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fr_kernels", "Groth16 prover kernels over the BLS12-381 scalar field.", -1, methods,
};

PyMODINIT_FUNC PyInit__fr_kernels(void) {
#ifdef HAVE_ADX_ASM
    __builtin_cpu_init();
    use_adx = __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("adx");
#endif
    return PyModule_Create(&module);
}
