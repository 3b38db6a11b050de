/* depthwise_tf.h - one output row of a depthwise convolution for one vector width.
 *
 * depthwise.c includes this file once per instruction set with DW_SUFFIX, DW_LANES and
 * DW_TARGET defined (as winograd_tf.h); not a module header, so no include guard. */

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

/* Channels [c0, c0 + w) of one output row; 'full' (w == DW_LANES) is a constant after
 * inlining, so whole vectors load and store without the byte-count path. */
DW_TARGET static inline __attribute__((always_inline)) void
DW(block)(const dw_job *J, const float *img, float *orow, int64_t iy0, int64_t ky0, int64_t ky1,
          int64_t c0, int64_t w, int full)
{
    const tlr_conv2d_params *p = J->p;
    int64_t C = p->cin, kw = p->kw;
    VF zero = { 0 }, six = zero + 6.0f;
    int hold = (ky1 - ky0) * kw <= DW_MAX_TAPS;
    VF kv[DW_MAX_TAPS], b = zero;
    if (hold)
        for (int64_t ky = ky0; ky < ky1; ky++)
            for (int64_t kx = 0; kx < kw; kx++)
                kv[(ky - ky0) * kw + kx] =
                    DW(ld)(J->kernel + (ky * kw + kx) * C + c0, full ? DW_LANES : w);
    if (J->bias)
        b = DW(ld)(J->bias + c0, full ? DW_LANES : w);
    for (int64_t ox = 0; ox < p->ow; ox++) {
        int64_t ix0 = ox * p->sw - p->pad_left;
        VF acc = b;
        for (int64_t ky = ky0; ky < ky1; ky++) {
            const float *irow = img + (iy0 + ky * p->dh) * p->w * C + c0;
            for (int64_t kx = 0; kx < kw; kx++) {
                int64_t ix = ix0 + kx * p->dw;
                if (ix < 0 || ix >= p->w)
                    continue;
                VF k = hold ? kv[(ky - ky0) * kw + kx]
                            : DW(ld)(J->kernel + (ky * kw + kx) * C + c0, full ? DW_LANES : w);
                acc += DW(ld)(irow + ix * C, full ? DW_LANES : w) * k;
            }
        }
        if (J->epi != TLR_EPI_NONE)
            acc = (VF)((VI)acc & (acc > zero)); /* max(acc, 0); NaN -> 0 as fmaxf */
        if (J->epi == TLR_EPI_RELU6)
            acc = (VF)(((VI)acc & (acc < six)) | ((VI)six & ~(acc < six)));
        DW(st)(orow + ox * C + c0, acc, full ? DW_LANES : w);
    }
}

/* Output row 'oy' of image 'n', every column and channel. */
DW_TARGET static void DW(row)(const dw_job *J, int64_t n, int64_t oy)
{
    const tlr_conv2d_params *p = J->p;
    int64_t C = p->cin;
    int64_t ky0 = 0, ky1 = p->kh; /* taps of this row inside the image */
    int64_t iy0 = oy * p->sh - p->pad_top;
    while (ky0 < ky1 && iy0 + ky0 * p->dh < 0)
        ky0++;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dh >= p->h)
        ky1--;
    const float *img = J->in + n * p->h * p->w * C;
    float *orow = J->out + (n * p->oh + oy) * p->ow * C;
    int64_t c0 = 0;
    for (; c0 + DW_LANES <= C; c0 += DW_LANES)
        DW(block)(J, img, orow, iy0, ky0, ky1, c0, DW_LANES, 1);
    if (c0 < C)
        DW(block)(J, img, orow, iy0, ky0, ky1, c0, C - c0, 0);
}

#undef DW_MAX_TAPS
#undef VF
#undef VI
#undef DW
#undef DW_CAT
#undef DW_CAT2
