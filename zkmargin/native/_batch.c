/* An auditor's batch of Groth16 proofs on every core: decoding many proofs, and the weighted check
 *   prod_i e(w_i A_i, B_i) * prod_j e(P_j, Q_j) * e(-sum_i w_i C_i, delta) == 1
 * that zkmargin/groth16/batch.py builds (the P_j, Q_j are the key's alpha/beta and gamma terms).
 *
 * Why native and threaded: in Python the batch spent half its time decoding (worker processes, pickling the
 * points back) and half in one Miller loop a proof on one core. Here both run on POSIX threads, `workers` of
 * them (the caller passes the CPU count), each over a contiguous slice of the proofs: a slice's Miller loops
 * share their squarings and the slices' products share one final exponentiation.
 *
 * The arithmetic is _msm.c's (decompression, subgroup checks by endomorphism, the MSM) and _pairing.c's
 * (lines, Miller loop, final exponentiation): this file includes both with ZKMARGIN_EMBEDDED defined, so each
 * concept is written once and this module adds only the threading and the two entry points. Points cross the
 * boundary as elsewhere: big-endian affine x || y (G2 x.c0 || x.c1 || y.c0 || y.c1), zeros for the identity.
 */
#define ZKMARGIN_EMBEDDED
#pragma GCC diagnostic ignored "-Wunused-function" /* the included modules' own Python entry points */
#include "_msm.c"
#include "_pairing.c"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <pthread.h>

/* Runs job(ctx, worker, lo, hi) over [0, n) in chunks of `chunk` items on `workers` threads (the calling thread is
 * worker 0). Chunks are handed out as the workers ask for them, not split up front: on a shared machine a thread
 * that loses its core would otherwise hold up the whole batch. A thread that cannot start leaves its share to
 * the others. */
typedef void (*chunk_job)(void *ctx, size_t worker, size_t lo, size_t hi);

typedef struct {
    chunk_job job;
    void *ctx;
    size_t n, chunk, next; /* next: the first item not yet handed out (atomic) */
} chunk_queue;

typedef struct {
    chunk_queue *queue;
    size_t worker;
} chunk_worker;

static void *run_chunks_worker(void *arg) {
    chunk_worker *w = arg;
    chunk_queue *q = w->queue;
    for (;;) {
        size_t lo = __atomic_fetch_add(&q->next, q->chunk, __ATOMIC_RELAXED);
        if (lo >= q->n) return NULL;
        q->job(q->ctx, w->worker, lo, lo + q->chunk < q->n ? lo + q->chunk : q->n);
    }
}

static void run_chunks(chunk_job job, void *ctx, size_t n, size_t chunk, size_t workers) {
    chunk_queue queue = {job, ctx, n, chunk, 0};
    chunk_worker each[64];
    pthread_t threads[64];
    int started[64] = {0};
    for (size_t w = 0; w < workers; w++) each[w] = (chunk_worker){&queue, w};
    for (size_t w = 1; w < workers; w++) started[w] = pthread_create(&threads[w], NULL, run_chunks_worker, &each[w]) == 0;
    run_chunks_worker(&each[0]);
    for (size_t w = 1; w < workers; w++)
        if (started[w]) pthread_join(threads[w], NULL);
}

/* Workers actually used: at least one, at most 64, and no more than there are chunks. */
static size_t clamp_workers(long requested, size_t n, size_t chunk) {
    size_t w = requested < 1 ? 1 : requested > 64 ? 64 : (size_t)requested;
    size_t chunks = (n + chunk - 1) / chunk;
    return w < chunks ? w : chunks ? chunks : 1;
}

/* ---------------------------------------------------------------- decoding */
#define PROOF_BYTES 192 /* compressed A (48) || B (96) || C (48) */
#define PROOF_XY 384    /* A x || y (96) || B (192) || C (96) */

enum { DECODED = 0, DECODE_REFUSED = 1 };

/* One compressed point (ZCash flags: compressed set, infinity clear; anything else is refused and left to the
 * Python decoder, which words the reason). */
static int decode_point(unsigned char *xy, const unsigned char *src, unsigned coords) {
    if (!(src[0] & 0x80) || (src[0] & 0x40)) return DECODE_REFUSED;
    int sign = (src[0] & 0x20) != 0;
    unsigned char body[96];
    memcpy(body, src, 24 * coords);
    body[0] &= 0x1F;
    if (coords == 2) {
        g1_aff p;
        if (fp_from_be(&p.x, body) || g1_decompress_point(&p, sign, 1) != POINT_OK) return DECODE_REFUSED;
        fp_to_be(xy, &p.x); fp_to_be(xy + 48, &p.y);
    } else {
        g2_aff p;
        if (fp_from_be(&p.x.c1, body) || fp_from_be(&p.x.c0, body + 48) || g2_decompress_point(&p, sign, 1) != POINT_OK)
            return DECODE_REFUSED;
        fp_to_be(xy, &p.x.c0); fp_to_be(xy + 48, &p.x.c1);
        fp_to_be(xy + 96, &p.y.c0); fp_to_be(xy + 144, &p.y.c1);
    }
    return DECODED;
}

typedef struct {
    const unsigned char *in;
    unsigned char *xy, *status;
} decode_ctx;

#define DECODE_CHUNK 16

static void decode_chunk(void *arg, size_t worker, size_t lo, size_t hi) {
    (void)worker;
    decode_ctx *c = arg;
    for (size_t i = lo; i < hi; i++) {
        const unsigned char *src = c->in + PROOF_BYTES * i;
        unsigned char *xy = c->xy + PROOF_XY * i;
        c->status[i] = (unsigned char)(decode_point(xy, src, 2) || decode_point(xy + 96, src + 48, 4) ||
                                       decode_point(xy + 288, src + 144, 2));
        if (c->status[i]) memset(xy, 0, PROOF_XY);
    }
}

/* decode_proofs(data, workers): n x 192-byte proofs -> (n x 384 bytes of A || B || C as x || y, n status bytes:
 * 0 decoded with every check, 1 refused). */
static PyObject *py_decode_proofs(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer in;
    long workers;
    if (!PyArg_ParseTuple(args, "y*l", &in, &workers)) return NULL;
    if (in.len % PROOF_BYTES) {
        PyBuffer_Release(&in);
        return PyErr_Format(PyExc_ValueError, "proof data must be a multiple of %d bytes", PROOF_BYTES);
    }
    size_t n = (size_t)in.len / PROOF_BYTES;
    PyObject *xy = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * PROOF_XY));
    PyObject *status = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (!xy || !status) {
        PyBuffer_Release(&in);
        Py_XDECREF(xy);
        Py_XDECREF(status);
        return NULL;
    }
    decode_ctx ctx = {in.buf, (unsigned char *)PyBytes_AS_STRING(xy), (unsigned char *)PyBytes_AS_STRING(status)};
    Py_BEGIN_ALLOW_THREADS
    run_chunks(decode_chunk, &ctx, n, DECODE_CHUNK, clamp_workers(workers, n, DECODE_CHUNK));
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&in);
    PyObject *pair = PyTuple_Pack(2, xy, status);
    Py_DECREF(xy);
    Py_DECREF(status);
    return pair;
}

/* ---------------------------------------------------------------- the weighted check */
/* o = k p for a 32-byte little-endian k (any value below 2^256), 4-bit fixed window from the top. */
static void g1_mul_scalar(g1_jac *o, const g1_aff *p, const unsigned char *k) {
    g1_jac table[16], acc;
    g1_jac_set_inf(&table[0]);
    g1_jac_from_aff(&table[1], p);
    for (int d = 2; d < 16; d++) g1_jac_add_aff(&table[d], &table[d - 1], p);
    g1_jac_set_inf(&acc);
    for (int byte = 31; byte >= 0; byte--)
        for (int half = 1; half >= 0; half--) {
            if (!g1_jac_is_inf(&acc))
                for (int s = 0; s < 4; s++) g1_jac_dbl(&acc, &acc);
            unsigned d = (k[byte] >> (4 * half)) & 15;
            if (d) g1_jac_add(&acc, &acc, &table[d]);
        }
    *o = acc;
}

/* o = w p for w = a + b lambda, with lambda = -z^2 mod r the eigenvalue of sigma(x, y) = (beta x, y) on G1 and
 * a, b < 2^64 (the batch's weights in GLV form): Shamir's trick over 64 bits instead of 128 doublings. The table
 * is affine and free: p, sigma(p) and p + sigma(p) = -sigma^2(p) = (beta^2 x, -y) = (-(x + beta x), -y), as
 * 1 + lambda + lambda^2 = 0 mod r and beta^2 = -1 - beta. Exact for p in G1 (the decoders check every point). */
static void g1_mul_glv(g1_jac *o, const g1_aff *p, u64 a, u64 b) {
    g1_aff table[4];
    memset(&table[0], 0, sizeof table[0]);
    table[1] = *p;
    fp_mul(&table[2].x, &BETA, &p->x);
    table[2].y = p->y;
    fp_add(&table[3].x, &p->x, &table[2].x);
    fp_neg(&table[3].x, &table[3].x);
    fp_neg(&table[3].y, &p->y);
    g1_jac acc;
    g1_jac_set_inf(&acc);
    for (int bit = 63; bit >= 0; bit--) {
        g1_jac_dbl(&acc, &acc);
        unsigned d = (unsigned)((a >> bit) & 1) | (unsigned)(((b >> bit) & 1) << 1);
        if (d) g1_jac_add_aff(&acc, &acc, &table[d]);
    }
    *o = acc;
}

static inline u64 load_u64_le(const unsigned char *b) {
    u64 v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

#define GROUP 32 /* pairs per shared-squaring Miller loop: their lines take GROUP x 20 kB */

typedef struct {
    const unsigned char *a, *b, *c, *w; /* n x 96, n x 192, n x 96 bytes of x || y; n weights */
    int glv;                            /* weights as 16-byte a || b (w = a + b lambda), else 32-byte w */
    fp12 *f;                            /* per worker: prod e(w_i A_i, B_i) before the final exponentiation */
    g1_jac *c_sum;                      /* per worker: sum w_i C_i */
    int *failed;                        /* per worker: 1 a coordinate not below p, 2 out of memory */
} check_ctx;

static int read_g1_xy(g1_aff *p, const unsigned char *be) { return fp_from_be(&p->x, be) || fp_from_be(&p->y, be + 48); }

#define CHECK_CHUNK 128 /* proofs a worker takes at a time: enough for the C points' MSM to pay */

/* Multiplies the chunk's Miller loops into the worker's f and adds its sum w_i C_i into the worker's c_sum. */
static void check_chunk(void *arg, size_t worker, size_t lo, size_t hi) {
    check_ctx *c = arg;
    fp12 *f = &c->f[worker];
    size_t n = hi - lo;
    if (!n) return;
    line *lines = malloc(sizeof(line) * LINES * GROUP);
    /* GLV weights: sum w_i C_i = sum a_i C_i + sum b_i sigma(C_i), one MSM over 2n points with 64-bit scalars. */
    size_t terms = c->glv ? 2 * n : n;
    g1_aff *cs = malloc(sizeof(g1_aff) * terms);
    unsigned char *scalars = c->glv ? calloc(terms, 32) : NULL;
    g1_jac wa[GROUP];
    g1_aff wa_aff[GROUP];
    fp pref[GROUP];
    miller_pair pairs[GROUP];
    if (!lines || !cs || (c->glv && !scalars)) { c->failed[worker] = 2; goto done; }
    for (size_t start = lo; start < hi; start += GROUP) {
        size_t count = hi - start < GROUP ? hi - start : GROUP, used = 0;
        for (size_t k = 0; k < count; k++) {
            g1_aff a;
            if (read_g1_xy(&a, c->a + 96 * (start + k))) { c->failed[worker] = 1; goto done; }
            if (c->glv) {
                const unsigned char *w = c->w + 16 * (start + k);
                g1_mul_glv(&wa[k], &a, load_u64_le(w), load_u64_le(w + 8));
            } else {
                g1_mul_scalar(&wa[k], &a, c->w + 32 * (start + k));
            }
        }
        g1_normalize_all(wa_aff, wa, count, pref);
        for (size_t k = 0; k < count; k++) {
            fp2 x, y;
            const unsigned char *b = c->b + 192 * (start + k);
            if (read_g2(&x, &y, b)) { c->failed[worker] = 1; goto done; }
            /* The identity on either side contributes 1. */
            if (g1_aff_is_inf(&wa_aff[k]) || all_zero(b, 192)) continue;
            g2_lines(lines + LINES * used, &x, &y);
            pairs[used] = (miller_pair){wa_aff[k].x, wa_aff[k].y, lines + LINES * used, NULL};
            used++;
        }
        fp12 part;
        miller_loop(&part, pairs, used);
        fp12_mul(f, f, &part);
    }
    for (size_t i = 0; i < n; i++)
        if (read_g1_xy(&cs[i], c->c + 96 * (lo + i))) { c->failed[worker] = 1; goto done; }
    if (c->glv)
        for (size_t i = 0; i < n; i++) {
            fp_mul(&cs[n + i].x, &BETA, &cs[i].x);
            cs[n + i].y = cs[i].y;
            memcpy(scalars + 32 * i, c->w + 16 * (lo + i), 8);
            memcpy(scalars + 32 * (n + i), c->w + 16 * (lo + i) + 8, 8);
        }
    g1_jac part;
    if (g1_msm(&part, cs, c->glv ? scalars : c->w + 32 * lo, terms)) c->failed[worker] = 2;
    else g1_jac_add(&c->c_sum[worker], &c->c_sum[worker], &part);
done:
    free(lines);
    free(cs);
    free(scalars);
}

/* weighted_check(a, b, c, weights, pairs, delta, workers): whether
 * prod_i e(w_i A_i, B_i) * prod_j e(P_j, Q_j) * e(-sum_i w_i C_i, delta) == 1. */
static PyObject *py_weighted_check(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer a, b, c, w;
    PyObject *pairs_arg, *delta_arg;
    long workers;
    if (!PyArg_ParseTuple(args, "y*y*y*y*OOl", &a, &b, &c, &w, &pairs_arg, &delta_arg, &workers)) return NULL;
    PyObject *result = NULL, *seq = NULL;
    size_t n = (size_t)a.len / 96, extra = 0;
    miller_pair *fixed = NULL;
    line *own = NULL;
    fp12 *f = NULL;
    g1_jac *c_sum = NULL;
    int *failed = NULL;
    int glv = n > 0 && (size_t)w.len == 16 * n;
    if (a.len % 96 || (size_t)b.len != 192 * n || (size_t)c.len != 96 * n || (!glv && (size_t)w.len != 32 * n)) {
        PyErr_SetString(PyExc_ValueError,
                        "need n x 96 bytes of A, n x 192 of B, n x 96 of C and n weights (32-byte w or 16-byte GLV a || b)");
        goto done;
    }
    seq = PySequence_Fast(pairs_arg, "pairs must be a sequence of (G1, G2) byte pairs");
    if (!seq) goto done;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(seq);
    fixed = calloc((size_t)m + 1, sizeof *fixed);
    own = calloc((size_t)m + 1, sizeof(line) * LINES);
    size_t threads = clamp_workers(workers, n, CHECK_CHUNK);
    f = calloc(threads, sizeof *f);
    c_sum = calloc(threads, sizeof *c_sum);
    failed = calloc(threads, sizeof *failed);
    if (!fixed || !own || !f || !c_sum || !failed) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t j = 0; j < m; j++) {
        int status = parse_pair(&fixed[extra], own + LINES * extra, PySequence_Fast_GET_ITEM(seq, j));
        if (status < 0) goto done;
        extra += (size_t)status;
    }
    /* delta's pair gets its G1 side, -sum w_i C_i, after the workers. */
    if (parse_g2_operand(&fixed[extra], own + LINES * extra, delta_arg)) goto done;
    int delta_used = pair_has_lines(&fixed[extra]);
    check_ctx ctx = {a.buf, b.buf, c.buf, w.buf, glv, f, c_sum, failed};
    int bad = 0, equal = 0;
    Py_BEGIN_ALLOW_THREADS
    for (size_t t = 0; t < threads; t++) { fp12_one(&f[t]); g1_jac_set_inf(&c_sum[t]); }
    run_chunks(check_chunk, &ctx, n, CHECK_CHUNK, threads);
    for (size_t t = 0; t < threads; t++) bad |= failed[t];
    if (!bad) {
        fp12 total, e, one;
        g1_jac s;
        g1_jac_set_inf(&s);
        fp12_one(&total);
        for (size_t t = 0; t < threads; t++) {
            fp12_mul(&total, &total, &f[t]);
            g1_jac_add(&s, &s, &c_sum[t]);
        }
        if (delta_used) {
            g1_aff neg;
            g1_jac_to_aff(&neg, &s);
            if (g1_aff_is_inf(&neg)) delta_used = 0;
            else { fp_neg(&neg.y, &neg.y); fixed[extra].px = neg.x; fixed[extra].py = neg.y; }
        }
        fp12 rest;
        miller_loop(&rest, fixed, extra + (size_t)delta_used);
        fp12_mul(&total, &total, &rest);
        final_exponentiation(&e, &total);
        fp12_one(&one);
        equal = memcmp(&e, &one, sizeof e) == 0;
    }
    Py_END_ALLOW_THREADS
    if (bad & 2) PyErr_NoMemory();
    else if (bad) PyErr_SetString(PyExc_ValueError, "a proof point has a coordinate not below p");
    else result = PyBool_FromLong(equal);
done:
    Py_XDECREF(seq);
    free(fixed); free(own); free(f); free(c_sum); free(failed);
    PyBuffer_Release(&a); PyBuffer_Release(&b); PyBuffer_Release(&c); PyBuffer_Release(&w);
    return result;
}

static PyMethodDef methods[] = {
    {"decode_proofs", py_decode_proofs, METH_VARARGS,
     "(data, workers): n x 192-byte proofs -> (n x 384 bytes A || B || C as x || y, n status bytes, 0 = decoded and checked)."},
    {"weighted_check", py_weighted_check, METH_VARARGS,
     "(a, b, c, weights, pairs, delta, workers): prod e(w_i A_i, B_i) * prod e(P_j, Q_j) * e(-sum w_i C_i, delta) == 1; "
     "weights n x 32 bytes (w little-endian) or n x 16 (GLV: a || b little-endian, w = a + b lambda, lambda = -z^2 mod r)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_batch", "Batched Groth16 decoding and checks on threads.", -1, methods};

PyMODINIT_FUNC PyInit__batch(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("bmi2") || !__builtin_cpu_supports("adx")) {
        PyErr_SetString(PyExc_ImportError, "zkmargin.native._batch needs a CPU with BMI2 and ADX");
        return NULL;
    }
    subgroup_constants_init();
    decompress_constants_init();
    return PyModule_Create(&module);
}

#else /* not x86-64: batch.py checks with the backend's pairing */

PyMODINIT_FUNC PyInit__batch(void) {
    PyErr_SetString(PyExc_ImportError, "zkmargin.native._batch is built for x86-64 only");
    return NULL;
}

#endif
