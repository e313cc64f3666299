/* One group's multi-scalar multiplication, written once for G1 (over Fp) and G2 (over Fp2).
 *
 * _msm.c includes this file twice with FE (the coordinate field's element type), FN(op) (that
 * field's operations) and G(name) (this group's prefix) defined. Nothing here is specific to
 * either curve except that both have a = 0, so (0, 0) is never on them and can stand for the
 * point at infinity in affine form.
 */

typedef struct { FE x, y; } G(aff);    /* (0, 0) is the point at infinity */
typedef struct { FE X, Y, Z; } G(jac); /* Jacobian (X/Z^2, Y/Z^3); Z = 0 is the point at infinity */

static inline int G(aff_is_inf)(const G(aff) *p) { return FN(is_zero)(&p->x) && FN(is_zero)(&p->y); }
static inline int G(jac_is_inf)(const G(jac) *p) { return FN(is_zero)(&p->Z); }
static inline void G(jac_set_inf)(G(jac) *p) { memset(p, 0, sizeof *p); }

static inline void G(jac_from_aff)(G(jac) *o, const G(aff) *p) {
    if (G(aff_is_inf)(p)) { G(jac_set_inf)(o); return; }
    o->X = p->x; o->Y = p->y; FN(one)(&o->Z);
}

/* dbl-2009-l (a = 0). */
static void G(jac_dbl)(G(jac) *o, const G(jac) *p) {
    if (G(jac_is_inf)(p)) { G(jac_set_inf)(o); return; }
    FE a, b, c, d, e, f, t, x3, y3, z3;
    FN(sqr)(&a, &p->X);
    FN(sqr)(&b, &p->Y);
    FN(sqr)(&c, &b);
    FN(add)(&t, &p->X, &b); FN(sqr)(&t, &t); FN(sub)(&t, &t, &a); FN(sub)(&t, &t, &c); FN(add)(&d, &t, &t);
    FN(add)(&e, &a, &a); FN(add)(&e, &e, &a);
    FN(sqr)(&f, &e);
    FN(add)(&t, &d, &d); FN(sub)(&x3, &f, &t);
    FN(sub)(&t, &d, &x3); FN(mul)(&y3, &e, &t);
    FN(add)(&c, &c, &c); FN(add)(&c, &c, &c); FN(add)(&c, &c, &c); FN(sub)(&y3, &y3, &c);
    FN(mul)(&z3, &p->Y, &p->Z); FN(add)(&z3, &z3, &z3);
    o->X = x3; o->Y = y3; o->Z = z3;
}

/* madd-2007-bl: o = p + q, q affine. Handles infinity and p == +-q. */
static void G(jac_add_aff)(G(jac) *o, const G(jac) *p, const G(aff) *q) {
    if (G(aff_is_inf)(q)) { *o = *p; return; }
    if (G(jac_is_inf)(p)) { G(jac_from_aff)(o, q); return; }
    FE z1z1, u2, s2, h, hh, i, j, r, v, t, x3, y3, z3;
    FN(sqr)(&z1z1, &p->Z);
    FN(mul)(&u2, &q->x, &z1z1);
    FN(mul)(&s2, &q->y, &p->Z); FN(mul)(&s2, &s2, &z1z1);
    FN(sub)(&h, &u2, &p->X);
    FN(sub)(&r, &s2, &p->Y);
    if (FN(is_zero)(&h)) {
        if (FN(is_zero)(&r)) { G(jac) qj; G(jac_from_aff)(&qj, q); G(jac_dbl)(o, &qj); }
        else G(jac_set_inf)(o);
        return;
    }
    FN(add)(&r, &r, &r);
    FN(sqr)(&hh, &h);
    FN(add)(&i, &hh, &hh); FN(add)(&i, &i, &i);
    FN(mul)(&j, &h, &i);
    FN(mul)(&v, &p->X, &i);
    FN(sqr)(&x3, &r); FN(sub)(&x3, &x3, &j); FN(sub)(&x3, &x3, &v); FN(sub)(&x3, &x3, &v);
    FN(sub)(&t, &v, &x3); FN(mul)(&y3, &r, &t);
    FN(mul)(&t, &p->Y, &j); FN(add)(&t, &t, &t); FN(sub)(&y3, &y3, &t);
    FN(add)(&z3, &p->Z, &h); FN(sqr)(&z3, &z3); FN(sub)(&z3, &z3, &z1z1); FN(sub)(&z3, &z3, &hh);
    o->X = x3; o->Y = y3; o->Z = z3;
}

/* add-2007-bl: o = p + q. Handles infinity and p == +-q. */
static void G(jac_add)(G(jac) *o, const G(jac) *p, const G(jac) *q) {
    if (G(jac_is_inf)(q)) { *o = *p; return; }
    if (G(jac_is_inf)(p)) { *o = *q; return; }
    FE z1z1, z2z2, u1, u2, s1, s2, h, i, j, r, v, t, x3, y3, z3;
    FN(sqr)(&z1z1, &p->Z);
    FN(sqr)(&z2z2, &q->Z);
    FN(mul)(&u1, &p->X, &z2z2);
    FN(mul)(&u2, &q->X, &z1z1);
    FN(mul)(&s1, &p->Y, &q->Z); FN(mul)(&s1, &s1, &z2z2);
    FN(mul)(&s2, &q->Y, &p->Z); FN(mul)(&s2, &s2, &z1z1);
    FN(sub)(&h, &u2, &u1);
    FN(sub)(&r, &s2, &s1);
    if (FN(is_zero)(&h)) {
        if (FN(is_zero)(&r)) G(jac_dbl)(o, p);
        else G(jac_set_inf)(o);
        return;
    }
    FN(add)(&r, &r, &r);
    FN(add)(&i, &h, &h); FN(sqr)(&i, &i);
    FN(mul)(&j, &h, &i);
    FN(mul)(&v, &u1, &i);
    FN(sqr)(&x3, &r); FN(sub)(&x3, &x3, &j); FN(sub)(&x3, &x3, &v); FN(sub)(&x3, &x3, &v);
    FN(sub)(&t, &v, &x3); FN(mul)(&y3, &r, &t);
    FN(mul)(&t, &s1, &j); FN(add)(&t, &t, &t); FN(sub)(&y3, &y3, &t);
    FN(add)(&z3, &p->Z, &q->Z); FN(sqr)(&z3, &z3); FN(sub)(&z3, &z3, &z1z1); FN(sub)(&z3, &z3, &z2z2);
    FN(mul)(&z3, &z3, &h);
    o->X = x3; o->Y = y3; o->Z = z3;
}

static void G(jac_to_aff)(G(aff) *o, const G(jac) *p) {
    if (G(jac_is_inf)(p)) { memset(o, 0, sizeof *o); return; }
    FE zi, zi2, zi3;
    FN(inv)(&zi, &p->Z);
    FN(sqr)(&zi2, &zi);
    FN(mul)(&zi3, &zi2, &zi);
    FN(mul)(&o->x, &p->X, &zi2);
    FN(mul)(&o->y, &p->Y, &zi3);
}

/* out[i] = in[i] in affine form for n points with one inversion (Montgomery's trick over the nonzero Z);
 * pref holds n elements. */
static void G(normalize_all)(G(aff) *out, const G(jac) *in, size_t n, FE *pref) {
    FE acc, inv, zi, zi2, zi3;
    FN(one)(&acc);
    for (size_t k = 0; k < n; k++) {
        pref[k] = acc;
        if (!G(jac_is_inf)(&in[k])) FN(mul)(&acc, &acc, &in[k].Z);
    }
    FN(inv)(&inv, &acc);
    for (size_t k = n; k-- > 0;) {
        if (G(jac_is_inf)(&in[k])) { memset(&out[k], 0, sizeof out[k]); continue; }
        FN(mul)(&zi, &inv, &pref[k]);
        FN(mul)(&inv, &inv, &in[k].Z);
        FN(sqr)(&zi2, &zi);
        FN(mul)(&zi3, &zi2, &zi);
        FN(mul)(&out[k].x, &in[k].X, &zi2);
        FN(mul)(&out[k].y, &in[k].Y, &zi3);
    }
}

/* out[i] = k_i * base for n 32-byte little-endian scalars (a setup's query points): a table of
 * d * 2^(8w) * base for every byte position w and byte value d, then at most 32 mixed additions a point,
 * all normalised with one inversion. Returns 0, or -1 when memory ran out. */
static int G(batch_mul)(G(aff) *out, const G(aff) *base, const unsigned char *scalars, size_t n) {
    const size_t digits = 255, entries = 32 * digits;
    G(jac) *table_jac = malloc(sizeof(G(jac)) * entries);
    G(aff) *table = malloc(sizeof(G(aff)) * entries);
    G(jac) *acc = malloc(sizeof(G(jac)) * (n ? n : 1));
    FE *pref = malloc(sizeof(FE) * (entries > n ? entries : n));
    int status = -1;
    if (!table_jac || !table || !acc || !pref) goto done;
    G(jac) step; /* 2^(8w) * base */
    G(jac_from_aff)(&step, base);
    for (size_t w = 0; w < 32; w++) {
        G(jac) *row = table_jac + w * digits;
        row[0] = step;
        for (size_t d = 1; d < digits; d++) G(jac_add)(&row[d], &row[d - 1], &step);
        for (int k = 0; k < 8; k++) G(jac_dbl)(&step, &step);
    }
    G(normalize_all)(table, table_jac, entries, pref);
    for (size_t i = 0; i < n; i++) {
        G(jac_set_inf)(&acc[i]);
        for (size_t w = 0; w < 32; w++) {
            unsigned d = scalars[32 * i + w];
            if (d) G(jac_add_aff)(&acc[i], &acc[i], &table[w * digits + d - 1]);
        }
    }
    G(normalize_all)(out, acc, n, pref);
    status = 0;
done:
    free(table_jac); free(table); free(acc); free(pref);
    return status;
}

/* What p + q needs, and the denominator to invert for it (one for the cases that need none). */
static inline unsigned char G(pair_kind)(FE *den, const G(aff) *p, const G(aff) *q) {
    FN(one)(den);
    if (G(aff_is_inf)(q)) return SUM_LEFT;
    if (G(aff_is_inf)(p)) return SUM_RIGHT;
    if (!FN(eq)(&p->x, &q->x)) { FN(sub)(den, &q->x, &p->x); return SUM_GENERAL; }
    /* Same x: q = p or q = -p; y = 0 (2-torsion, not in the prime-order group) doubles to infinity. */
    if (!FN(eq)(&p->y, &q->y) || FN(is_zero)(&p->y)) return SUM_INF;
    FN(add)(den, &p->y, &p->y);
    return SUM_DOUBLE;
}

/* o = p + q in affine form, given inv = 1 / pair_kind's denominator. o may alias p or q. */
static inline void G(pair_sum)(G(aff) *o, const G(aff) *p, const G(aff) *q, unsigned char kind, const FE *inv) {
    FE lambda, t, x3, y3;
    switch (kind) {
    case SUM_LEFT: *o = *p; return;
    case SUM_RIGHT: *o = *q; return;
    case SUM_INF: memset(o, 0, sizeof *o); return;
    case SUM_GENERAL: FN(sub)(&t, &q->y, &p->y); break;
    default: FN(sqr)(&t, &p->x); FN(add)(&lambda, &t, &t); FN(add)(&t, &lambda, &t); break; /* 3 x^2 */
    }
    FN(mul)(&lambda, &t, inv);
    FN(sqr)(&x3, &lambda); FN(sub)(&x3, &x3, &p->x); FN(sub)(&x3, &x3, &q->x);
    FN(sub)(&t, &p->x, &x3); FN(mul)(&y3, &lambda, &t); FN(sub)(&y3, &y3, &p->y);
    o->x = x3; o->y = y3;
}

/* Sum every group of pts in place: group b is pts[start[b] .. start[b] + len[b]), and ends as pts[start[b]]
 * (len[b] = 1) or empty (len[b] = 0). Each round adds disjoint pairs across all groups, so one inversion
 * (Montgomery's trick over the round's denominators) serves every addition of the round.
 * den, pref hold n/2 elements and kind n/2 bytes. */
static void G(sum_groups)(G(aff) *pts, const uint32_t *start, uint32_t *len, size_t groups,
                          FE *den, FE *pref, unsigned char *kind) {
    for (;;) {
        size_t pairs = 0;
        for (size_t b = 0; b < groups; b++) pairs += len[b] / 2;
        /* A round's inversion costs ~600 products: with fewer pairs than ROUND_MIN_PAIRS, the caller finishes the
         * groups with Jacobian additions (~5 products dearer each) instead. */
        if (pairs < ROUND_MIN_PAIRS) return;
        pairs = 0;
        for (size_t b = 0; b < groups; b++) {
            const G(aff) *g = pts + start[b];
            for (uint32_t k = 0; k < len[b] / 2; k++, pairs++)
                kind[pairs] = G(pair_kind)(&den[pairs], &g[2 * k], &g[2 * k + 1]);
        }
        pref[0] = den[0];
        for (size_t i = 1; i < pairs; i++) FN(mul)(&pref[i], &pref[i - 1], &den[i]);
        FE inv, t;
        FN(inv)(&inv, &pref[pairs - 1]);
        for (size_t i = pairs - 1; i > 0; i--) {
            FN(mul)(&t, &inv, &pref[i - 1]);
            FN(mul)(&inv, &inv, &den[i]);
            den[i] = t;
        }
        den[0] = inv;
        pairs = 0;
        for (size_t b = 0; b < groups; b++) {
            G(aff) *g = pts + start[b];
            uint32_t n = len[b];
            /* Pair k's sum goes to g[k]: pairs run in order and pair k reads g[2k], g[2k+1] >= g[k]. */
            for (uint32_t k = 0; k < n / 2; k++, pairs++)
                G(pair_sum)(&g[k], &g[2 * k], &g[2 * k + 1], kind[pairs], &den[pairs]);
            if (n & 1) g[n / 2] = g[n - 1];
            len[b] = (n + 1) / 2;
        }
    }
}

/* total += k * p for a small k >= 1 (double-and-add from the top bit). */
static void G(add_multiple)(G(jac) *total, const G(jac) *p, size_t k) {
    if (k == 1) { G(jac_add)(total, total, p); return; }
    G(jac) acc = *p;
    int top = 63 - __builtin_clzll((unsigned long long)k);
    for (int bit = top - 1; bit >= 0; bit--) {
        G(jac_dbl)(&acc, &acc);
        if ((k >> bit) & 1) G(jac_add)(&acc, &acc, p);
    }
    G(jac_add)(total, total, &acc);
}

/* total = sum_v v * B_v over buckets summed by sum_groups (bucket v at position v - 1; groups it left with more
 * than one point are summed here in Jacobian form, in jbuckets, flagged in in_jac). */
static void G(combine_buckets)(G(jac) *total, const G(aff) *scratch, const uint32_t *start, const uint32_t *len,
                               size_t nbuckets, G(jac) *jbuckets, unsigned char *in_jac) {
    for (size_t b = 0; b < nbuckets; b++) {
        in_jac[b] = len[b] > 1;
        if (!in_jac[b]) continue;
        G(jac_from_aff)(&jbuckets[b], &scratch[start[b]]);
        for (uint32_t k = 1; k < len[b]; k++) G(jac_add_aff)(&jbuckets[b], &jbuckets[b], &scratch[start[b] + k]);
    }
    /* sum_v v * B_v over the nonempty buckets v_1 > ... > v_m = sum_i (v_i - v_(i+1)) * (B_v1 + ... + B_vi),
     * v_(m+1) = 0: one addition per digit value when the buckets are dense, and a short multiplication
     * per gap when they are sparse (a window reached only by a few wide scalars). */
    G(jac) running;
    G(jac_set_inf)(&running);
    G(jac_set_inf)(total);
    size_t previous = 0; /* digit value of the last nonempty bucket, 0 before the first */
    for (size_t b = nbuckets; b-- > 0;) {
        if (!len[b] || (in_jac[b] ? G(jac_is_inf)(&jbuckets[b]) : G(aff_is_inf)(&scratch[start[b]]))) continue;
        if (previous) G(add_multiple)(total, &running, previous - (b + 1));
        if (in_jac[b]) G(jac_add)(&running, &running, &jbuckets[b]);
        else G(jac_add_aff)(&running, &running, &scratch[start[b]]);
        previous = b + 1;
    }
    if (previous) G(add_multiple)(total, &running, previous);
}

/* out = sum_i scalars[i] * bases[i]; scalars are n x 32-byte little-endian integers (any value below 2^256).
 * Signed-digit Pippenger: per window, points are sorted into buckets by digit and each bucket is summed
 * with batched affine additions (Jacobian ones once a round would have few pairs); buckets are then combined
 * with the running-sum trick in Jacobian form.
 * Returns 0, or -1 when memory ran out. */
static int G(msm)(G(jac) *out, const G(aff) *bases, const unsigned char *scalars, size_t n) {
    G(jac_set_inf)(out);
    size_t hist[257] = {0}, nonzero = 0;
    unsigned maxbits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned bits = G(aff_is_inf)(&bases[i]) ? 0 : scalar_bits(scalars + 32 * i);
        hist[bits]++;
        if (bits) nonzero++;
        if (bits > maxbits) maxbits = bits;
    }
    if (nonzero == 0) return 0;
    unsigned c = choose_window(hist, maxbits, BUCKET_COST);
    unsigned windows = maxbits / c + 1; /* the last window takes the signed digits' final carry */
    size_t nbuckets = (size_t)1 << (c - 1);

    int32_t *digits = malloc(sizeof(int32_t) * windows * nonzero);
    uint32_t *index = malloc(sizeof(uint32_t) * nonzero);
    G(aff) *scratch = malloc(sizeof(G(aff)) * nonzero);
    FE *den = malloc(sizeof(FE) * (nonzero / 2 + 1));
    FE *pref = malloc(sizeof(FE) * (nonzero / 2 + 1));
    unsigned char *kind = malloc(nonzero / 2 + 1);
    uint32_t *start = malloc(sizeof(uint32_t) * (nbuckets + 1));
    uint32_t *len = malloc(sizeof(uint32_t) * (nbuckets + 1));
    G(jac) *jbuckets = malloc(sizeof(G(jac)) * nbuckets);
    unsigned char *in_jac = malloc(nbuckets);
    int status = -1;
    if (!digits || !index || !scratch || !den || !pref || !kind || !start || !len || !jbuckets || !in_jac) goto done;

    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (G(aff_is_inf)(&bases[i]) || !scalar_bits(scalars + 32 * i)) continue;
        index[m] = (uint32_t)i;
        signed_digits(digits + m, nonzero, scalars + 32 * i, c, windows);
        m++;
    }

    for (unsigned w = windows; w-- > 0;) {
        if (!G(jac_is_inf)(out))
            for (unsigned k = 0; k < c; k++) G(jac_dbl)(out, out);
        const int32_t *d = digits + (size_t)w * nonzero;
        /* Counting sort into buckets 1 .. 2^(c-1) (bucket b at position b - 1). */
        memset(len, 0, sizeof(uint32_t) * (nbuckets + 1));
        for (size_t i = 0; i < nonzero; i++)
            if (d[i]) len[(d[i] < 0 ? -d[i] : d[i]) - 1]++;
        uint32_t at = 0;
        for (size_t b = 0; b < nbuckets; b++) { start[b] = at; at += len[b]; len[b] = 0; }
        if (at == 0) continue;
        for (size_t i = 0; i < nonzero; i++) {
            if (!d[i]) continue;
            size_t b = (size_t)(d[i] < 0 ? -d[i] : d[i]) - 1;
            G(aff) *slot = &scratch[start[b] + len[b]++];
            *slot = bases[index[i]];
            if (d[i] < 0) FN(neg)(&slot->y, &slot->y);
        }
        G(sum_groups)(scratch, start, len, nbuckets, den, pref, kind);
        G(jac) total;
        G(combine_buckets)(&total, scratch, start, len, nbuckets, jbuckets, in_jac);
        G(jac_add)(out, out, &total);
    }
    status = 0;
done:
    free(digits); free(index); free(scratch); free(den); free(pref); free(kind); free(start); free(len); free(jbuckets); free(in_jac);
    return status;
}

/* o = k * p for a 64-bit k (double-and-add from the top bit): the subgroup checks multiply by |x|, which has
 * six set bits, so this costs 63 doublings and 5 additions. */
static void G(jac_mul_u64)(G(jac) *o, const G(jac) *p, u64 k) {
    G(jac) acc;
    G(jac_set_inf)(&acc);
    for (int bit = 63; bit >= 0; bit--) {
        G(jac_dbl)(&acc, &acc);
        if ((k >> bit) & 1) G(jac_add)(&acc, &acc, p);
    }
    *o = acc;
}

/* Jacobian p equals affine (x, y), which is not the point at infinity. */
static int G(jac_eq_aff)(const G(jac) *p, const FE *x, const FE *y) {
    if (G(jac_is_inf)(p)) return 0;
    FE z2, z3, t;
    FN(sqr)(&z2, &p->Z);
    FN(mul)(&t, x, &z2);
    if (!FN(eq)(&t, &p->X)) return 0;
    FN(mul)(&z3, &z2, &p->Z);
    FN(mul)(&t, y, &z3);
    return FN(eq)(&t, &p->Y);
}

/* ---------------------------------------------------------------- fixed bases
 * A proving key's query points never change, so each point's multiples 2^(c j) P, j < FIXED_ROWS(c), are kept
 * (affine, built once per key). An MSM over them then drops every window's digit into ONE set of buckets: no
 * doublings and one bucket combination instead of one per window, which also makes a wider window pay. */
#define FIXED_ROWS(c) (256 / (c) + 1) /* enough for the signed digits of any 256-bit scalar */

/* out[i * FIXED_ROWS(c) + j] = 2^(c j) bases[i] for n points, built a block of points at a time (one inversion
 * a block) so the Jacobian scratch stays small. Returns 0, or -1 when memory ran out. */
static int G(fixed_table)(G(aff) *out, const G(aff) *bases, size_t n, unsigned c) {
    const size_t rows = FIXED_ROWS(c), block = 512;
    G(jac) *jac = malloc(sizeof(G(jac)) * rows * block);
    FE *pref = malloc(sizeof(FE) * rows * block);
    int status = -1;
    if (!jac || !pref) goto done;
    for (size_t first = 0; first < n; first += block) {
        size_t count = n - first < block ? n - first : block;
        for (size_t i = 0; i < count; i++) {
            G(jac) p;
            G(jac_from_aff)(&p, &bases[first + i]);
            for (size_t j = 0; j < rows; j++) {
                jac[i * rows + j] = p;
                for (unsigned k = 0; k < c && j + 1 < rows; k++) G(jac_dbl)(&p, &p);
            }
        }
        G(normalize_all)(out + first * rows, jac, count * rows, pref);
    }
    status = 0;
done:
    free(jac); free(pref);
    return status;
}

/* Windows of a fixed-base MSM whose digits are bucketed together: the scattered copies of FIXED_GROUP windows'
 * points (a few MB) stay in cache where all windows at once (tens of MB) did not. Each group's bucket sums are
 * carried into the next group as one point a bucket, so the buckets are still combined only once. */
#define FIXED_GROUP 4

/* out = sum_i scalars[i] * P_i over a fixed_table of n points with window c; the same sum as G(msm) on the
 * points. Returns 0, or -1 when memory ran out. */
static int G(msm_fixed)(G(jac) *out, const G(aff) *table, unsigned c, const unsigned char *scalars, size_t n) {
    const size_t rows = FIXED_ROWS(c), nbuckets = (size_t)1 << (c - 1);
    G(jac_set_inf)(out);
    int32_t *digits = malloc(sizeof(int32_t) * rows * (n ? n : 1)); /* digits[i * rows + w], 0 past a scalar's top */
    unsigned char *windows = malloc(n ? n : 1);
    uint32_t *start = calloc(nbuckets + 1, sizeof(uint32_t));
    uint32_t *len = calloc(nbuckets + 1, sizeof(uint32_t));
    G(aff) *carry = calloc(nbuckets, sizeof(G(aff))); /* each bucket's sum so far; (0, 0) is empty */
    G(jac) *jbuckets = malloc(sizeof(G(jac)) * nbuckets);
    FE *jpref = malloc(sizeof(FE) * nbuckets);
    unsigned char *in_jac = malloc(nbuckets);
    G(aff) *scratch = NULL;
    FE *den = NULL, *pref = NULL;
    unsigned char *kind = NULL;
    size_t capacity = 0;
    int status = -1;
    if (!digits || !windows || !start || !len || !carry || !jbuckets || !jpref || !in_jac) goto done;
    for (size_t i = 0; i < n; i++) {
        unsigned bits = G(aff_is_inf)(table + i * rows) ? 0 : scalar_bits(scalars + 32 * i);
        windows[i] = (unsigned char)(bits ? bits / c + 1 : 0);
        if (bits) signed_digits(digits + i * rows, 1, scalars + 32 * i, c, windows[i]);
    }
    for (size_t w0 = 0; w0 < rows; w0 += FIXED_GROUP) {
        size_t w1 = w0 + FIXED_GROUP < rows ? w0 + FIXED_GROUP : rows, entries = 0;
        /* Count, then place: the carried sums first, then this group's digits' points. */
        memset(len, 0, sizeof(uint32_t) * (nbuckets + 1));
        for (size_t b = 0; b < nbuckets; b++)
            if (!G(aff_is_inf)(&carry[b])) { len[b]++; entries++; }
        for (size_t i = 0; i < n; i++)
            for (size_t w = w0; w < w1 && w < windows[i]; w++) {
                int32_t d = digits[i * rows + w];
                if (d) { len[(d < 0 ? -d : d) - 1]++; entries++; }
            }
        if (!entries) continue;
        if (entries > capacity) {
            free(scratch); free(den); free(pref); free(kind);
            capacity = entries;
            scratch = malloc(sizeof(G(aff)) * capacity);
            den = malloc(sizeof(FE) * (capacity / 2 + 1));
            pref = malloc(sizeof(FE) * (capacity / 2 + 1));
            kind = malloc(capacity / 2 + 1);
            if (!scratch || !den || !pref || !kind) goto done;
        }
        uint32_t at = 0;
        for (size_t b = 0; b < nbuckets; b++) { start[b] = at; at += len[b]; len[b] = 0; }
        for (size_t b = 0; b < nbuckets; b++)
            if (!G(aff_is_inf)(&carry[b])) scratch[start[b] + len[b]++] = carry[b];
        for (size_t i = 0; i < n; i++) {
            const G(aff) *row = table + i * rows;
            for (size_t w = w0; w < w1 && w < windows[i]; w++) {
                int32_t d = digits[i * rows + w];
                if (!d) continue;
                size_t b = (size_t)(d < 0 ? -d : d) - 1;
                G(aff) *slot = &scratch[start[b] + len[b]++];
                *slot = row[w];
                if (d < 0) FN(neg)(&slot->y, &slot->y);
            }
        }
        G(sum_groups)(scratch, start, len, nbuckets, den, pref, kind);
        /* Buckets the batched rounds left with several points: Jacobian sums, made affine with one inversion. */
        size_t several = 0;
        for (size_t b = 0; b < nbuckets; b++) {
            in_jac[b] = len[b] > 1;
            if (len[b] == 1) carry[b] = scratch[start[b]];
            else if (len[b] == 0) memset(&carry[b], 0, sizeof carry[b]);
            if (!in_jac[b]) continue;
            G(jac_from_aff)(&jbuckets[several], &scratch[start[b]]);
            for (uint32_t k = 1; k < len[b]; k++) G(jac_add_aff)(&jbuckets[several], &jbuckets[several], &scratch[start[b] + k]);
            several++;
        }
        if (several) {
            /* scratch is free again: its first `several` points take the affine sums, in bucket order. */
            G(normalize_all)(scratch, jbuckets, several, jpref);
            for (size_t b = 0, k = 0; b < nbuckets; b++)
                if (in_jac[b]) carry[b] = scratch[k++];
        }
    }
    for (size_t b = 0; b < nbuckets; b++) { start[b] = (uint32_t)b; len[b] = !G(aff_is_inf)(&carry[b]); }
    G(combine_buckets)(out, carry, start, len, nbuckets, jbuckets, in_jac);
    status = 0;
done:
    free(digits); free(windows); free(start); free(len); free(carry); free(jbuckets); free(jpref); free(in_jac);
    free(scratch); free(den); free(pref); free(kind);
    return status;
}
