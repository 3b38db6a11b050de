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

/* post(acc) for one vector of channels: * scale + shift, clamp (NaN -> lo, as fmaxf). */
#define DW_POST(acc)                                                                         \
    do {                                                                                     \
        (acc) = (acc) * sc + sh;                                                             \
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
DW(block)(const dw_job *J, const float *img, float *orow, int64_t iy0, int64_t ky0, int64_t ky1,
          int64_t c0, int64_t w, int full)
{
    const tlr_conv2d_params *p = J->p;
    const int64_t C = p->cin, kw = p->kw, sw = p->sw, dw = p->dw, W = p->w, taps_y = ky1 - ky0;
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
    int hold = taps_y * kw <= DW_MAX_TAPS;
    VF kv[DW_MAX_TAPS];
    if (hold)
        for (int64_t ky = ky0; ky < ky1; ky++)
            for (int64_t kx = 0; kx < kw; kx++)
                kv[(ky - ky0) * kw + kx] = DW(ld)(J->kernel + (ky * kw + kx) * C + c0, lanes);
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
    for (int64_t ox = 0; ox < p->ow; ox++) {
        int64_t ix0 = ox * sw - p->pad_left;
        VF acc = zero;
        if (ox >= ox_in0 && ox < ox_in1 && hold && kw == 3) {
            for (int64_t r = 0; r < taps_y; r++) {
                const float *x = rows[r] + ix0 * C;
                acc += DW(ld)(x, lanes) * kv[r * 3];
                acc += DW(ld)(x + dw * C, lanes) * kv[r * 3 + 1];
                acc += DW(ld)(x + 2 * dw * C, lanes) * kv[r * 3 + 2];
            }
        } else {
            for (int64_t ky = ky0; ky < ky1; ky++) {
                const float *irow = img + (iy0 + ky * p->dh) * W * C + c0;
                for (int64_t kx = 0; kx < kw; kx++) {
                    int64_t ix = ix0 + kx * dw;
                    if (ix < 0 || ix >= W)
                        continue;
                    VF k = hold ? kv[(ky - ky0) * kw + kx]
                                : DW(ld)(J->kernel + (ky * kw + kx) * C + c0, lanes);
                    acc += DW(ld)(irow + ix * C, lanes) * k;
                }
            }
        }
        DW_POST(acc);
        DW(st)(orow + ox * C + c0, acc, lanes);
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
#undef DW_POST
#undef VF
#undef VI
#undef DW
#undef DW_CAT
#undef DW_CAT2
