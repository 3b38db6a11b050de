/* winograd_tf.h - the three transforms of winograd.c for one vector width.
 *
 * winograd.c includes this file once per instruction set, with
 *   WT_SUFFIX  name suffix (generic, avx2, avx512)
 *   WT_LANES   floats per vector (4, 8, 16)
 *   WT_TARGET  the function attribute enabling that instruction set (or nothing)
 * and WT_NR (the GEMM kernel's panel width for that set)
 * defined; it is not a module header (no include guard on purpose).  Vectors run along the
 * channel axis, which is contiguous in NHWC activations and in Keras kernels alike.  The
 * code uses GCC vector extensions, so one text serves every width. */

#define WT_CAT2(a, b) a##_##b
#define WT_CAT(a, b) WT_CAT2(a, b)
#define WT(name) WT_CAT(name, WT_SUFFIX)
#define VF WT(vf)
#define VI WT(vi)

#define VFU WT(vfu)

typedef float VF __attribute__((vector_size(WT_LANES * 4)));
typedef int VI __attribute__((vector_size(WT_LANES * 4)));
/* The same vector at any float-aligned address (float alias set, unlike memcpy, so the
 * compiler need not reload everything after a store). */
typedef float VFU __attribute__((vector_size(WT_LANES * 4), aligned(4)));

WT_TARGET static inline VF WT(load)(const float *p)
{
    return *(const VFU *)p;
}

/* The first n (< WT_LANES) lanes from p, zeros after: never reads past p[n - 1]. */
WT_TARGET static inline VF WT(load_n)(const float *p, int64_t n)
{
    VF v = { 0 };
    memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
}

WT_TARGET static inline void WT(store)(float *p, VF v)
{
    *(VFU *)p = v;
}

WT_TARGET static inline void WT(store_n)(float *p, VF v, int64_t n)
{
    memcpy(p, &v, (size_t)n * sizeof(float));
}

/* y[0..5 step ys] = B^T x[0..5 step xs], B^T the F(4x4, 3x3) input matrix
 *   [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1] */
WT_TARGET static inline void WT(bt)(const VF *x, int xs, VF *y, int ys)
{
    VF d0 = x[0], d1 = x[xs], d2 = x[2 * xs], d3 = x[3 * xs], d4 = x[4 * xs], d5 = x[5 * xs];
    VF d42 = d4 - d2, d31 = d3 - d1;
    y[0] = d42 + (d0 - d2) * 4.0f;
    y[ys] = (d3 + d4) - (d1 + d2) * 4.0f;
    y[2 * ys] = (d4 - d3) + (d1 - d2) * 4.0f;
    y[3 * ys] = d42 + d31 * 2.0f;
    y[4 * ys] = d42 - d31 * 2.0f;
    y[5 * ys] = (d5 - d3) + (d1 - d3) * 4.0f;
}

/* y[0..3 step ys] = A^T x[0..5 step xs], A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0;
 * 0 1 -1 8 -8 1] */
WT_TARGET static inline void WT(at)(const VF *x, int xs, VF *y, int ys)
{
    VF a = x[xs] + x[2 * xs], b = x[xs] - x[2 * xs];
    VF c = x[3 * xs] + x[4 * xs], d = x[3 * xs] - x[4 * xs];
    y[0] = x[0] + a + c;
    y[ys] = b + d * 2.0f;
    y[2 * ys] = a + c * 4.0f;
    y[3 * ys] = b + d * 8.0f + x[5 * xs];
}

/* y[0..5 step ys] = G x[0..2 step xs], G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 * 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1] */
WT_TARGET static inline void WT(g)(const VF *x, int xs, VF *y, int ys)
{
    VF g0 = x[0], g1 = x[xs], g2 = x[2 * xs];
    VF e = g0 + g2, f = g0 * 0.25f + g2, h = g1 * 0.5f;
    y[0] = g0 * 0.25f;
    y[ys] = (e + g1) * (-1.0f / 6.0f);
    y[2 * ys] = (e - g1) * (-1.0f / 6.0f);
    y[3 * ys] = (f + h) * (1.0f / 6.0f);
    y[4 * ys] = (f - h) * (1.0f / 6.0f);
    y[5 * ys] = g2;
}

/* One input tap: channels c0 .. c0+cw-1 of the pixel at offset 'off' (-1: padding). */
WT_TARGET static inline VF WT(tap)(const float *in, int64_t off, int64_t c0, int64_t cw)
{
    if (off < 0)
        return (VF){ 0 };
    return cw == WT_LANES ? WT(load)(in + off + c0) : WT(load_n)(in + off + c0, cw);
}

/* V[p * pstride + i * J->ldv + c] = (B^T d B)[p] for tiles t0 .. t0+nt-1, every channel c.
 * The transform goes column by column, then row by row, storing each row as soon as it is
 * done, so the 36 intermediate vectors are the most ever live (they fit the registers of
 * AVX-512; narrower sets spill a few). */
WT_TARGET static void WT(input_tiles)(const wg_job *J, int64_t t0, int64_t nt, float *V,
                                      int64_t pstride)
{
    const tlr_conv2d_params *p = J->p;
    const int64_t cin = p->cin, h = p->h, w = p->w, tx = J->tx, ty = J->ty, ldv = J->ldv;
    const float *in = J->in;
    for (int64_t i = 0; i < nt; i++) {
        int64_t t = t0 + i;
        int64_t txi = t % tx, tyi = (t / tx) % ty, n = t / (tx * ty);
        int64_t iy0 = tyi * 4 - p->pad_top, ix0 = txi * 4 - p->pad_left;
        /* offset of each tap's pixel, -1 in the padding */
        int64_t off[36];
        int inside = iy0 >= 0 && iy0 + 6 <= h && ix0 >= 0 && ix0 + 6 <= w;
        for (int r = 0; r < 6; r++)
            for (int c = 0; c < 6; c++) {
                int64_t iy = iy0 + r, ix = ix0 + c;
                off[r * 6 + c] = inside || (iy >= 0 && iy < h && ix >= 0 && ix < w)
                               ? ((n * h + iy) * w + ix) * cin : -1;
            }
        float *dst = V + i * ldv;
        for (int64_t c0 = 0; c0 < cin; c0 += WT_LANES) {
            int64_t cw = cin - c0 < WT_LANES ? cin - c0 : WT_LANES;
            VF t6[36], col[6], row[6];
            if (inside && cw == WT_LANES) {
#pragma GCC unroll 6
                for (int c = 0; c < 6; c++) { /* columns: t6 = B^T d */
#pragma GCC unroll 6
                    for (int r = 0; r < 6; r++)
                        col[r] = WT(load)(in + off[r * 6 + c] + c0);
                    WT(bt)(col, 1, t6 + c, 6);
                }
            } else {
#pragma GCC unroll 6
                for (int c = 0; c < 6; c++) {
#pragma GCC unroll 6
                    for (int r = 0; r < 6; r++)
                        col[r] = WT(tap)(in, off[r * 6 + c], c0, cw);
                    WT(bt)(col, 1, t6 + c, 6);
                }
            }
#pragma GCC unroll 6
            for (int r = 0; r < 6; r++) { /* rows: v = t6 B, stored as they come */
                WT(bt)(t6 + r * 6, 1, row, 1);
#pragma GCC unroll 6
                for (int c = 0; c < 6; c++) /* ldv has room for whole vectors */
                    WT(store)(dst + (r * 6 + c) * pstride + c0, row[c]);
            }
        }
    }
}

/* out = post(A^T m A) for tiles t0 .. t0+nt-1 and channels co0 .. co0+nco-1,
 * with m[p] of tile i, channel co at M[p * pstride + i * ldm + co - co0]. */
WT_TARGET static void WT(output_tiles)(const wg_job *J, int64_t t0, int64_t nt, const float *M,
                                       int64_t pstride, int64_t ldm, int64_t co0, int64_t nco)
{
    const tlr_conv2d_params *p = J->p;
    const int64_t cout = p->cout, oh = p->oh, ow = p->ow, tx = J->tx, ty = J->ty;
    const tlr_conv_post *post = J->post;
    float *out = J->out;
    const VF zero = { 0 }, one = zero + 1.0f;
    const VF lo = zero + (post && post->clamp ? post->lo : 0.0f);
    const VF hi = zero + (post && post->clamp ? post->hi : 0.0f);
    const int clamp = post && post->clamp;
    for (int64_t i = 0; i < nt; i++) {
        int64_t t = t0 + i;
        int64_t txi = t % tx, tyi = (t / tx) % ty, n = t / (tx * ty);
        int64_t oy0 = tyi * 4, ox0 = txi * 4;
        int rows = (int)(oh - oy0 < 4 ? oh - oy0 : 4);
        int cols = (int)(ow - ox0 < 4 ? ow - ox0 : 4);
        const float *src = M + i * ldm;
        int64_t obase_at = ((n * oh + oy0) * ow + ox0) * cout + co0;
        float *obase = out + obase_at;
        const float *rbase = post && post->residual ? post->residual + obase_at : NULL;
        for (int64_t c0 = 0; c0 < nco; c0 += WT_LANES) {
            int64_t w = nco - c0 < WT_LANES ? nco - c0 : WT_LANES;
            int whole = rows == 4 && cols == 4 && w == WT_LANES;
            VF t4[24], col[6], y[4];
#pragma GCC unroll 6
            for (int c = 0; c < 6; c++) { /* columns: t4 (4 x 6) = A^T m */
#pragma GCC unroll 6
                for (int r = 0; r < 6; r++) /* ldm has room for whole vectors */
                    col[r] = WT(load)(src + (r * 6 + c) * pstride + c0);
                WT(at)(col, 1, t4 + c, 6);
            }
            VF sc = one, sh = zero;
            if (post && post->scale)
                sc = w == WT_LANES ? WT(load)(post->scale + co0 + c0)
                                   : WT(load_n)(post->scale + co0 + c0, w);
            if (post && post->shift)
                sh = w == WT_LANES ? WT(load)(post->shift + co0 + c0)
                                   : WT(load_n)(post->shift + co0 + c0, w);
            float *o = obase + c0;
            const float *res = rbase ? rbase + c0 : NULL;
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++) { /* rows: y = t4 A, stored as they come */
                WT(at)(t4 + r * 6, 1, y, 1);
#pragma GCC unroll 4
                for (int c = 0; c < 4; c++) {
                    VF v = y[c] * sc + sh;
                    if (res && r < rows && c < cols)
                        v += w == WT_LANES ? WT(load)(res + (r * ow + c) * cout)
                                           : WT(load_n)(res + (r * ow + c) * cout, w);
                    if (clamp) { /* max(v, lo) with NaN -> lo as fmaxf, then min(v, hi) */
                        VI gt = v > lo, lt = v < hi;
                        v = (VF)((gt & (VI)v) | (~gt & (VI)lo));
                        v = (VF)((lt & (VI)v) | (~lt & (VI)hi));
                    }
                    if (whole)
                        WT(store)(o + (r * ow + c) * cout, v);
                    else if (r < rows && c < cols)
                        WT(store_n)(o + (r * ow + c) * cout, v, w);
                }
            }
        }
    }
}

/* One vector of kernels: g (3 x 3 taps 'tap' floats apart, w lanes) to u (6 x 6
 * positions 'ps' floats apart, ps a constant so that the 36 stores need no registers for
 * their addresses).  'full' is a constant after inlining. */
WT_TARGET static inline __attribute__((always_inline)) void
WT(kernel_one)(const float *src, int64_t tap, float *dst, int64_t ps, int64_t w, int full)
{
    VF t6[18], col[3], row[6];
#pragma GCC unroll 3
    for (int c = 0; c < 3; c++) { /* columns: t6 (6 x 3) = G g */
#pragma GCC unroll 3
        for (int r = 0; r < 3; r++) {
            const float *g = src + (r * 3 + c) * tap;
            col[r] = full ? WT(load)(g) : w > 0 ? WT(load_n)(g, w) : (VF){ 0 };
        }
        WT(g)(col, 1, t6 + c, 3);
    }
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++) { /* rows: u (6 x 6) = t6 G^T, stored as they come */
        WT(g)(t6 + r * 3, 1, row, 1);
#pragma GCC unroll 6
        for (int c = 0; c < 6; c++)
            WT(store)(dst + (r * 6 + c) * ps, row[c]);
    }
}

/* Input channels transformed per round through the local buffer. */
#define WT_KCI 4

/* U = G g G^T for output channels co0 .. co0+nco-1 and input channels ci0 .. ci0+nci-1:
 * position p is ceil(nco / NR) panels of nci x NR floats from U + p * pstride; panel lanes
 * past the last channel are zeros.  WT_KCI channels of one panel at a time go through a
 * small buffer with a fixed position stride, then out as 36 contiguous runs. */
WT_TARGET static void WT(kernel_tiles)(const wg_job *J, int64_t co0, int64_t nco, int64_t ci0,
                                       int64_t nci, float *U, int64_t pstride)
{
    enum { PS = WT_KCI * WT_NR }; /* position stride in the buffer */
    const int64_t cin = J->p->cin, cout = J->p->cout;
    const int64_t npan = (nco + WT_NR - 1) / WT_NR, tap = cin * cout; /* floats between taps */
    const float *kernel = J->kernel;
    float buf[36 * PS] __attribute__((aligned(64)));
    TLR_ASSERT(J->kr->nr == WT_NR);
    for (int64_t j = 0; j < npan; j++)
        for (int64_t cb = 0; cb < nci; cb += WT_KCI) {
            int64_t nc = nci - cb < WT_KCI ? nci - cb : WT_KCI;
            /* the 9 taps are 9 rows far apart: fetch some channels ahead, since the
             * hardware prefetchers do not follow nine interleaved strides */
            if (cb + 16 < nci) {
                const float *ahead = kernel + (ci0 + cb + 16) * cout + co0 + j * WT_NR;
                for (int k = 0; k < 9; k++)
                    for (int q = 0; q < WT_KCI; q++)
                        for (int l = 0; l < WT_NR; l += 16)
                            __builtin_prefetch(ahead + k * tap + q * cout + l, 0, 0);
            }
            for (int64_t ci = 0; ci < nc; ci++)
                for (int l = 0; l < WT_NR; l += WT_LANES) {
                    int64_t co = co0 + j * WT_NR + l;
                    int64_t w = co0 + nco - co;
                    const float *src = kernel + (ci0 + cb + ci) * cout + co;
                    float *dst = buf + ci * WT_NR + l;
                    if (w >= WT_LANES)
                        WT(kernel_one)(src, tap, dst, PS, WT_LANES, 1);
                    else
                        WT(kernel_one)(src, tap, dst, PS, w < 0 ? 0 : w, 0);
                }
            float *out = U + (j * nci + cb) * WT_NR;
            if (nc == WT_KCI) {
                for (int k = 0; k < 36; k++)
#pragma GCC unroll 16
                    for (int q = 0; q < PS; q += WT_LANES)
                        WT(store)(out + k * pstride + q, WT(load)(buf + k * PS + q));
            } else {
                for (int k = 0; k < 36; k++)
                    memcpy(out + k * pstride, buf + k * PS, (size_t)(nc * WT_NR) * sizeof(float));
            }
        }
}

#undef WT_KCI

static const wg_transforms WT(transforms) = { WT(input_tiles), WT(output_tiles),
                                             WT(kernel_tiles) };

#undef VF
#undef VI
#undef VFU
#undef WT
#undef WT_CAT
#undef WT_CAT2
