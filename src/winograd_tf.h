/* winograd_tf.h - the three transforms of winograd.c for one vector width.
 *
 * winograd.c includes this file once per instruction set, with
 *   WT_SUFFIX  name suffix (generic, avx2, avx512)
 *   WT_LANES   floats per vector (4, 8, 16)
 *   WT_TARGET  the function attribute enabling that instruction set (or nothing)
 * defined; it is not a module header (no include guard on purpose).  Vectors run along the
 * channel axis, which is contiguous in NHWC activations and in Keras kernels alike.  The
 * code uses GCC vector extensions, so one text serves every width. */

#define WT_CAT2(a, b) a##_##b
#define WT_CAT(a, b) WT_CAT2(a, b)
#define WT(name) WT_CAT(name, WT_SUFFIX)
#define VF WT(vf)
#define VI WT(vi)

typedef float VF __attribute__((vector_size(WT_LANES * 4)));
typedef int VI __attribute__((vector_size(WT_LANES * 4)));

WT_TARGET static inline VF WT(load)(const float *p)
{
    VF v;
    memcpy(&v, p, sizeof v);
    return v;
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
    memcpy(p, &v, sizeof v);
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

/* V[p * pstride + i * J->ldv + c] = (B^T d B)[p] for tiles t0 .. t0+nt-1, every channel c. */
WT_TARGET static void WT(input_tiles)(const wg_job *J, int64_t t0, int64_t nt, float *V,
                                      int64_t pstride)
{
    const tlr_conv2d_params *p = J->p;
    int64_t cin = p->cin;
    for (int64_t i = 0; i < nt; i++) {
        int64_t t = t0 + i;
        int64_t txi = t % J->tx, tyi = (t / J->tx) % J->ty, n = t / (J->tx * J->ty);
        int64_t iy0 = tyi * 4 - p->pad_top, ix0 = txi * 4 - p->pad_left;
        const float *src[36]; /* each tap's pixel, NULL in the padding */
        for (int r = 0; r < 6; r++)
            for (int c = 0; c < 6; c++) {
                int64_t iy = iy0 + r, ix = ix0 + c;
                src[r * 6 + c] = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w
                               ? J->in + ((n * p->h + iy) * p->w + ix) * cin : NULL;
            }
        float *dst = V + i * J->ldv;
        for (int64_t c0 = 0; c0 < cin; c0 += WT_LANES) {
            int64_t w = cin - c0 < WT_LANES ? cin - c0 : WT_LANES;
            VF d[36], t6[36];
            for (int k = 0; k < 36; k++) {
                if (!src[k])
                    d[k] = (VF){ 0 };
                else if (w == WT_LANES)
                    d[k] = WT(load)(src[k] + c0);
                else
                    d[k] = WT(load_n)(src[k] + c0, w);
            }
            for (int c = 0; c < 6; c++)
                WT(bt)(d + c, 6, t6 + c, 6); /* columns: t6 = B^T d */
            for (int r = 0; r < 6; r++)
                WT(bt)(t6 + r * 6, 1, d + r * 6, 1); /* rows: d = t6 B */
            for (int k = 0; k < 36; k++)
                WT(store)(dst + k * pstride + c0, d[k]); /* ldv has room for whole vectors */
        }
    }
}

/* out = epilogue(A^T m A + bias) for tiles t0 .. t0+nt-1 and channels co0 .. co0+nco-1,
 * with m[p] of tile i, channel co at M[p * pstride + i * ldm + co - co0]. */
WT_TARGET static void WT(output_tiles)(const wg_job *J, int64_t t0, int64_t nt, const float *M,
                                       int64_t pstride, int64_t ldm, int64_t co0, int64_t nco)
{
    const tlr_conv2d_params *p = J->p;
    int64_t cout = p->cout;
    VF zero = { 0 }, six = zero + 6.0f;
    for (int64_t i = 0; i < nt; i++) {
        int64_t t = t0 + i;
        int64_t txi = t % J->tx, tyi = (t / J->tx) % J->ty, n = t / (J->tx * J->ty);
        int64_t oy0 = tyi * 4, ox0 = txi * 4;
        int rows = (int)(p->oh - oy0 < 4 ? p->oh - oy0 : 4);
        int cols = (int)(p->ow - ox0 < 4 ? p->ow - ox0 : 4);
        const float *src = M + i * ldm;
        for (int64_t c0 = 0; c0 < nco; c0 += WT_LANES) {
            int64_t w = nco - c0 < WT_LANES ? nco - c0 : WT_LANES;
            VF m[36], t4[24], y[16];
            for (int k = 0; k < 36; k++)
                m[k] = WT(load)(src + k * pstride + c0); /* ldm has room for whole vectors */
            for (int c = 0; c < 6; c++)
                WT(at)(m + c, 6, t4 + c, 6); /* columns: t4 (4 x 6) = A^T m */
            for (int r = 0; r < 4; r++)
                WT(at)(t4 + r * 6, 1, y + r * 4, 1); /* rows: y (4 x 4) = t4 A */
            VF b = zero;
            if (J->bias)
                b = w == WT_LANES ? WT(load)(J->bias + co0 + c0) : WT(load_n)(J->bias + co0 + c0, w);
            for (int k = 0; k < 16; k++) {
                VF v = y[k] + b;
                if (J->epi != TLR_EPI_NONE)
                    v = (VF)((VI)v & (v > zero)); /* max(v, 0); NaN -> 0 as fmaxf */
                if (J->epi == TLR_EPI_RELU6)
                    v = (VF)(((VI)v & (v < six)) | ((VI)six & ~(v < six)));
                y[k] = v;
            }
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    float *o = J->out + ((n * p->oh + oy0 + r) * p->ow + ox0 + c) * cout + co0 + c0;
                    if (w == WT_LANES)
                        WT(store)(o, y[r * 4 + c]);
                    else
                        WT(store_n)(o, y[r * 4 + c], w);
                }
        }
    }
}

/* U (36 x ceil(nco / NR) panels of cin x NR) = G g G^T for output channels co0 .. co0+nco-1;
 * panel lanes past the last channel are zeros. */
WT_TARGET static void WT(kernel_tiles)(const wg_job *J, int64_t co0, int64_t nco, float *U)
{
    int64_t cin = J->p->cin, cout = J->p->cout, nr = J->kr->nr;
    int64_t npan = (nco + nr - 1) / nr;
    for (int64_t j = 0; j < npan; j++)
        for (int64_t ci = 0; ci < cin; ci++)
            for (int64_t l = 0; l < nr; l += WT_LANES) {
                int64_t co = co0 + j * nr + l;
                int64_t w = co0 + nco - co;
                w = w < 0 ? 0 : w > WT_LANES ? WT_LANES : w;
                VF g9[9], t6[18], u[36];
                for (int k = 0; k < 9; k++) {
                    const float *src = J->kernel + ((int64_t)k * cin + ci) * cout + co;
                    g9[k] = w == WT_LANES ? WT(load)(src) : w > 0 ? WT(load_n)(src, w) : (VF){ 0 };
                }
                for (int c = 0; c < 3; c++)
                    WT(g)(g9 + c, 3, t6 + c, 3); /* columns: t6 (6 x 3) = G g */
                for (int r = 0; r < 6; r++)
                    WT(g)(t6 + r * 3, 1, u + r * 6, 1); /* rows: u (6 x 6) = t6 G^T */
                for (int k = 0; k < 36; k++)
                    WT(store)(U + ((k * npan + j) * cin + ci) * nr + l, u[k]);
            }
}

static const wg_transforms WT(transforms) = { WT(input_tiles), WT(output_tiles),
                                             WT(kernel_tiles) };

#undef VF
#undef VI
#undef WT
#undef WT_CAT
#undef WT_CAT2
