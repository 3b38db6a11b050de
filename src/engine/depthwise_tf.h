/* depthwise_tf.h - one output row of a depthwise convolution for one vector width.
 *
 * depthwise.c includes this file once per instruction set with DW_SUFFIX, DW_LANES,
 * DW_TARGET and DW_FMA(acc, x, k) (acc + x * k, fused where the set has FMA) defined, as
 * winograd_tf.h; not a module header, so no include guard. */

#define DW_CAT2(a, b) a##_##b
#define DW_CAT(a, b) DW_CAT2(a, b)
#define DW(name) DW_CAT(name, DW_SUFFIX)
#define VF DW(vf)
#define VI DW(vi)

typedef float VF __attribute__((vector_size(DW_LANES * 4)));
typedef int VI __attribute__((vector_size(DW_LANES * 4)));

/* Kernel taps of one channel block held at once; larger kernels take the tap loop. */
#define DW_MAX_TAPS 25

DW_TARGET static inline VF DW(ld)(const float *p, int64_t w)
{
    VF v = { 0 };
    memcpy(&v, p, (size_t)w * sizeof(float));
    return v;
}

DW_TARGET static inline void DW(st)(float *p, VF v, int64_t w)
{
    memcpy(p, &v, (size_t)w * sizeof(float));
}

/* post(acc) for one vector of channels of output column ox: * scale + shift, + residual,
 * clamp (NaN -> lo, as fmaxf). */
#define DW_POST(acc, ox)                                                                     \
    do {                                                                                     \
        (acc) = (acc) * sc + sh;                                                             \
        if (rrow)                                                                            \
            (acc) += DW(ld)(rrow + (ox) * C + c0, lanes);                                    \
        if (clamp) {                                                                         \
            VI gt_ = (acc) > lo, lt_;                                                        \
            (acc) = (VF)((gt_ & (VI)(acc)) | (~gt_ & (VI)lo));                               \
            lt_ = (acc) < hi;                                                                \
            (acc) = (VF)((lt_ & (VI)(acc)) | (~lt_ & (VI)hi));                               \
        }                                                                                    \
    } while (0)

/* Channels [c0, c0 + w) of one output row; 'full' (w == DW_LANES) is a constant after
 * inlining, so whole vectors load and store without the byte-count path.  Columns whose
 * taps all fall inside the image take a path without bounds checks, unrolled for the
 * usual 3-wide kernel. */
DW_TARGET static inline __attribute__((always_inline)) void
DW(block)(const dw_job *J, int64_t r0, int64_t r1, int64_t c0, int64_t w, int full)
{
    const tlr_conv2d_params *p = J->p;
    const int64_t C = p->cin, kw = p->kw, sw = p->sw, dw = p->dw, W = p->w;
    const int64_t lanes = full ? DW_LANES : w;
    const tlr_conv_post *post = J->post;
    const VF zero = { 0 };
    VF sc = zero + 1.0f, sh = zero, lo = zero, hi = zero;
    const int clamp = post && post->clamp;
    if (post && post->scale)
        sc = DW(ld)(post->scale + c0, lanes);
    if (post && post->shift)
        sh = DW(ld)(post->shift + c0, lanes);
    if (clamp) {
        lo = zero + post->lo;
        hi = zero + post->hi;
    }
    /* the whole kernel for these channels, once for every row of the range */
    const int hold = p->kh * kw <= DW_MAX_TAPS;
    VF kall[DW_MAX_TAPS];
    if (hold)
        for (int64_t t = 0; t < p->kh * kw; t++)
            kall[t] = DW(ld)(J->kernel + t * C + c0, lanes);
    for (int64_t rr = r0; rr < r1; rr++) {
    const int64_t n = rr / p->oh, oy = rr % p->oh;
    int64_t ky0 = 0, ky1 = p->kh; /* taps of this row inside the image */
    const int64_t iy0 = oy * p->sh - p->pad_top;
    while (ky0 < ky1 && iy0 + ky0 * p->dh < 0)
        ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dh >= p->h)
        ky1--;
    const int64_t taps_y = ky1 - ky0;
    const float *img = J->in + n * p->h * W * C;
    float *orow = J->out + rr * p->ow * C;
    const float *rrow = post && post->residual ? post->residual + rr * p->ow * C : NULL;
    const VF *kv = kall + ky0 * kw; /* kv[(ky - ky0) * kw + kx] is tap (ky, kx) */
    /* columns [ox_in0, ox_in1) have every tap inside the image */
    int64_t ox_in0 = (p->pad_left + sw - 1) / sw;
    int64_t last = W - 1 - (kw - 1) * dw + p->pad_left; /* largest ox * sw with all inside */
    int64_t ox_in1 = last < 0 ? 0 : last / sw + 1;
    if (ox_in1 > p->ow)
        ox_in1 = p->ow;
    if (ox_in0 > ox_in1)
        ox_in0 = ox_in1;
    const float *rows[DW_MAX_TAPS];
    for (int64_t ky = ky0; ky < ky1 && ky - ky0 < DW_MAX_TAPS; ky++)
        rows[ky - ky0] = img + (iy0 + ky * p->dh) * W * C + c0;
    /* columns with a tap outside the image, and any column when the taps are not held */
#define DW_EDGE_COLUMN(ox)                                                                   \
    do {                                                                                     \
        int64_t ix0_ = (ox) * sw - p->pad_left;                                              \
        VF acc_ = zero;                                                                      \
        for (int64_t ky = ky0; ky < ky1; ky++) {                                             \
            const float *irow_ = img + (iy0 + ky * p->dh) * W * C + c0;                      \
            for (int64_t kx = 0; kx < kw; kx++) {                                            \
                int64_t ix_ = ix0_ + kx * dw;                                                \
                if (ix_ < 0 || ix_ >= W)                                                     \
                    continue;                                                                \
                VF k_ = hold ? kv[(ky - ky0) * kw + kx]                                      \
                             : DW(ld)(J->kernel + (ky * kw + kx) * C + c0, lanes);           \
                acc_ = DW_FMA(acc_, DW(ld)(irow_ + ix_ * C, lanes), k_);                     \
            }                                                                                \
        }                                                                                    \
        DW_POST(acc_, ox);                                                                       \
        DW(st)(orow + (ox) * C + c0, acc_, lanes);                                           \
    } while (0)
    int inner3 = hold && kw == 3;
    if (!inner3)
        ox_in0 = ox_in1 = p->ow;
    /* edge columns of a 3-wide kernel: the taps outside the image left out, no loops */
#define DW_EDGE3(ox)                                                                         \
    do {                                                                                     \
        int64_t ix_ = (ox) * sw - p->pad_left;                                               \
        int v0_ = ix_ >= 0 && ix_ < W, v1_ = ix_ + dw >= 0 && ix_ + dw < W;                  \
        int v2_ = ix_ + 2 * dw >= 0 && ix_ + 2 * dw < W;                                     \
        VF acc_ = zero;                                                                      \
        for (int64_t r_ = 0; r_ < taps_y; r_++) {                                            \
            const float *x_ = rows[r_] + ix_ * C;                                            \
            if (v0_)                                                                         \
                acc_ = DW_FMA(acc_, DW(ld)(x_, lanes), kv[r_ * 3]);                          \
            if (v1_)                                                                         \
                acc_ = DW_FMA(acc_, DW(ld)(x_ + dw * C, lanes), kv[r_ * 3 + 1]);             \
            if (v2_)                                                                         \
                acc_ = DW_FMA(acc_, DW(ld)(x_ + 2 * dw * C, lanes), kv[r_ * 3 + 2]);         \
        }                                                                                    \
        DW_POST(acc_, ox);                                                                   \
        DW(st)(orow + (ox) * C + c0, acc_, lanes);                                           \
    } while (0)
    for (int64_t ox = 0; ox < ox_in0; ox++) {
        if (inner3)
            DW_EDGE3(ox);
        else
            DW_EDGE_COLUMN(ox);
    }
    if (inner3 && taps_y == 3 && dw == 1 && sw == 1 && ox_in1 > ox_in0) {
        /* stride 1, all nine taps inside: a window of three columns slides along the row,
         * so each output loads three new vectors instead of nine */
        const float *q0 = rows[0], *q1 = rows[1], *q2 = rows[2];
        int64_t ix = ox_in0 - p->pad_left;
        VF a0 = DW(ld)(q0 + ix * C, lanes), a1 = DW(ld)(q0 + (ix + 1) * C, lanes);
        VF b0 = DW(ld)(q1 + ix * C, lanes), b1 = DW(ld)(q1 + (ix + 1) * C, lanes);
        VF e0 = DW(ld)(q2 + ix * C, lanes), e1 = DW(ld)(q2 + (ix + 1) * C, lanes);
        for (int64_t ox = ox_in0; ox < ox_in1; ox++, ix++) {
            VF a2 = DW(ld)(q0 + (ix + 2) * C, lanes), b2 = DW(ld)(q1 + (ix + 2) * C, lanes);
            VF e2 = DW(ld)(q2 + (ix + 2) * C, lanes);
            VF acc = a0 * kv[0];
            acc = DW_FMA(acc, a1, kv[1]);
            acc = DW_FMA(acc, a2, kv[2]);
            acc = DW_FMA(acc, b0, kv[3]);
            acc = DW_FMA(acc, b1, kv[4]);
            acc = DW_FMA(acc, b2, kv[5]);
            acc = DW_FMA(acc, e0, kv[6]);
            acc = DW_FMA(acc, e1, kv[7]);
            acc = DW_FMA(acc, e2, kv[8]);
            DW_POST(acc, ox);
            DW(st)(orow + ox * C + c0, acc, lanes);
            a0 = a1, a1 = a2, b0 = b1, b1 = b2, e0 = e1, e1 = e2;
        }
    } else if (inner3 && taps_y == 3) {
        /* all nine taps inside, any stride and dilation: the kernel in registers */
        const VF k0 = kv[0], k1 = kv[1], k2 = kv[2], k3 = kv[3], k4 = kv[4], k5 = kv[5];
        const VF k6 = kv[6], k7 = kv[7], k8 = kv[8];
        const int64_t d1 = dw * C, d2 = 2 * dw * C;
        for (int64_t ox = ox_in0; ox < ox_in1; ox++) {
            int64_t off = (ox * sw - p->pad_left) * C;
            const float *x0 = rows[0] + off, *x1 = rows[1] + off, *x2 = rows[2] + off;
            VF acc = DW(ld)(x0, lanes) * k0;
            acc = DW_FMA(acc, DW(ld)(x0 + d1, lanes), k1);
            acc = DW_FMA(acc, DW(ld)(x0 + d2, lanes), k2);
            acc = DW_FMA(acc, DW(ld)(x1, lanes), k3);
            acc = DW_FMA(acc, DW(ld)(x1 + d1, lanes), k4);
            acc = DW_FMA(acc, DW(ld)(x1 + d2, lanes), k5);
            acc = DW_FMA(acc, DW(ld)(x2, lanes), k6);
            acc = DW_FMA(acc, DW(ld)(x2 + d1, lanes), k7);
            acc = DW_FMA(acc, DW(ld)(x2 + d2, lanes), k8);
            DW_POST(acc, ox);
            DW(st)(orow + ox * C + c0, acc, lanes);
        }
    } else {
        for (int64_t ox = ox_in0; ox < ox_in1; ox++) {
            VF acc = zero;
            int64_t off = (ox * sw - p->pad_left) * C;
            for (int64_t r = 0; r < taps_y; r++) {
                const float *x0 = rows[r] + off;
                acc = DW_FMA(acc, DW(ld)(x0, lanes), kv[r * 3]);
                acc = DW_FMA(acc, DW(ld)(x0 + dw * C, lanes), kv[r * 3 + 1]);
                acc = DW_FMA(acc, DW(ld)(x0 + 2 * dw * C, lanes), kv[r * 3 + 2]);
            }
            DW_POST(acc, ox);
            DW(st)(orow + ox * C + c0, acc, lanes);
        }
    }
    for (int64_t ox = ox_in1; ox < p->ow; ox++) {
        if (inner3)
            DW_EDGE3(ox);
        else
            DW_EDGE_COLUMN(ox);
    }
#undef DW_EDGE_COLUMN
#undef DW_EDGE3
    }
}

/* Output rows [r0, r1) (flattened over N, OH), every column and channel. */
DW_TARGET static void DW(rows)(const dw_job *J, int64_t r0, int64_t r1)
{
    int64_t C = J->p->cin, c0 = 0;
    for (; c0 + DW_LANES <= C; c0 += DW_LANES)
        DW(block)(J, r0, r1, c0, DW_LANES, 1);
    if (c0 < C)
        DW(block)(J, r0, r1, c0, C - c0, 0);
}

#undef DW_MAX_TAPS
#undef DW_POST
#undef VF
#undef VI
#undef DW
#undef DW_CAT
#undef DW_CAT2
