/* BLS12-381's base field Fp (6 x 64-bit limbs, Montgomery form) and Fp2 = Fp[u] / (u^2 + 1), x86-64 only.
 *
 * Included by the native kernels that work over the curve (_msm.c, _pairing.c): each compiles its own
 * inlined copy. The product is BMI2/ADX assembly; the including module checks the CPU at import.
 */
#ifndef ZKMARGIN_BLS12_FIELDS_H
#define ZKMARGIN_BLS12_FIELDS_H

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

/* a + b mod p: the sum (< 2p < 2^382, no carry out) and sum - p, keeping the sum when the subtraction borrows. */
static inline void fp_add(fp *o, const fp *a, const fp *b) {
    u64 t0, t1, t2, t3, t4, t5, d0, d1, d2, d3, d4, d5;
    __asm__(
        "movq 0(%[a]), %[t0]\n\t" "movq 8(%[a]), %[t1]\n\t" "movq 16(%[a]), %[t2]\n\t"
        "movq 24(%[a]), %[t3]\n\t" "movq 32(%[a]), %[t4]\n\t" "movq 40(%[a]), %[t5]\n\t"
        "addq 0(%[b]), %[t0]\n\t" "adcq 8(%[b]), %[t1]\n\t" "adcq 16(%[b]), %[t2]\n\t"
        "adcq 24(%[b]), %[t3]\n\t" "adcq 32(%[b]), %[t4]\n\t" "adcq 40(%[b]), %[t5]\n\t"
        "movq %[t0], %[d0]\n\t" "movq %[t1], %[d1]\n\t" "movq %[t2], %[d2]\n\t"
        "movq %[t3], %[d3]\n\t" "movq %[t4], %[d4]\n\t" "movq %[t5], %[d5]\n\t"
        "subq %[p0], %[d0]\n\t" "sbbq %[p1], %[d1]\n\t" "sbbq %[p2], %[d2]\n\t"
        "sbbq %[p3], %[d3]\n\t" "sbbq %[p4], %[d4]\n\t" "sbbq %[p5], %[d5]\n\t"
        "cmovcq %[t0], %[d0]\n\t" "cmovcq %[t1], %[d1]\n\t" "cmovcq %[t2], %[d2]\n\t"
        "cmovcq %[t3], %[d3]\n\t" "cmovcq %[t4], %[d4]\n\t" "cmovcq %[t5], %[d5]\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5),
          [d0] "=&r"(d0), [d1] "=&r"(d1), [d2] "=&r"(d2), [d3] "=&r"(d3), [d4] "=&r"(d4), [d5] "=&r"(d5)
        : [a] "r"(a->l), [b] "r"(b->l), [p0] "m"(FP_P.l[0]), [p1] "m"(FP_P.l[1]), [p2] "m"(FP_P.l[2]),
          [p3] "m"(FP_P.l[3]), [p4] "m"(FP_P.l[4]), [p5] "m"(FP_P.l[5]), "m"(*(const fp *)a), "m"(*(const fp *)b)
        : "cc");
    o->l[0] = d0; o->l[1] = d1; o->l[2] = d2; o->l[3] = d3; o->l[4] = d4; o->l[5] = d5;
}

/* a - b mod p: the difference, plus p when it borrowed (the addend is p or 0 by a conditional move). */
static inline void fp_sub(fp *o, const fp *a, const fp *b) {
    u64 t0, t1, t2, t3, t4, t5, z0, z1, z2, z3, z4, z5;
    __asm__(
        "movq 0(%[a]), %[t0]\n\t" "movq 8(%[a]), %[t1]\n\t" "movq 16(%[a]), %[t2]\n\t"
        "movq 24(%[a]), %[t3]\n\t" "movq 32(%[a]), %[t4]\n\t" "movq 40(%[a]), %[t5]\n\t"
        "movq $0, %[z0]\n\t" "movq $0, %[z1]\n\t" "movq $0, %[z2]\n\t"
        "movq $0, %[z3]\n\t" "movq $0, %[z4]\n\t" "movq $0, %[z5]\n\t"
        "subq 0(%[b]), %[t0]\n\t" "sbbq 8(%[b]), %[t1]\n\t" "sbbq 16(%[b]), %[t2]\n\t"
        "sbbq 24(%[b]), %[t3]\n\t" "sbbq 32(%[b]), %[t4]\n\t" "sbbq 40(%[b]), %[t5]\n\t"
        "cmovcq %[p0], %[z0]\n\t" "cmovcq %[p1], %[z1]\n\t" "cmovcq %[p2], %[z2]\n\t"
        "cmovcq %[p3], %[z3]\n\t" "cmovcq %[p4], %[z4]\n\t" "cmovcq %[p5], %[z5]\n\t"
        "addq %[z0], %[t0]\n\t" "adcq %[z1], %[t1]\n\t" "adcq %[z2], %[t2]\n\t"
        "adcq %[z3], %[t3]\n\t" "adcq %[z4], %[t4]\n\t" "adcq %[z5], %[t5]\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5),
          [z0] "=&r"(z0), [z1] "=&r"(z1), [z2] "=&r"(z2), [z3] "=&r"(z3), [z4] "=&r"(z4), [z5] "=&r"(z5)
        : [a] "r"(a->l), [b] "r"(b->l), [p0] "m"(FP_P.l[0]), [p1] "m"(FP_P.l[1]), [p2] "m"(FP_P.l[2]),
          [p3] "m"(FP_P.l[3]), [p4] "m"(FP_P.l[4]), [p5] "m"(FP_P.l[5]), "m"(*(const fp *)a), "m"(*(const fp *)b)
        : "cc");
    o->l[0] = t0; o->l[1] = t1; o->l[2] = t2; o->l[3] = t3; o->l[4] = t4; o->l[5] = t5;
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
    /* t - p, kept when it does not borrow; written limb by limb from registers (a copy through a stack array
     * was read back in 16-byte loads, which cannot forward from the 8-byte stores). */
    unsigned long long d0, d1, d2, d3, d4, d5;
    unsigned char borrow = _subborrow_u64(0, r6, FP_P.l[0], &d0);
    borrow = _subborrow_u64(borrow, r0, FP_P.l[1], &d1);
    borrow = _subborrow_u64(borrow, r1, FP_P.l[2], &d2);
    borrow = _subborrow_u64(borrow, r2, FP_P.l[3], &d3);
    borrow = _subborrow_u64(borrow, r3, FP_P.l[4], &d4);
    borrow = _subborrow_u64(borrow, r4, FP_P.l[5], &d5);
    if (borrow) { d0 = r6; d1 = r0; d2 = r1; d3 = r2; d4 = r3; d5 = r4; }
    o->l[0] = d0; o->l[1] = d1; o->l[2] = d2; o->l[3] = d3; o->l[4] = d4; o->l[5] = d5;
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

#endif
