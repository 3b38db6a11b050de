/* test_ops_conv.c - convolutions and Dense: small cases worked out by hand (the arithmetic
 * is in the comments), then the fast paths against the plain reference loops on odd sizes.
 * tests/gen/check_conv_hand.py re-derives the hand-worked numbers with PyTorch. */
#include <stdlib.h>

#include "harness.h"
#include "engine/ops.h"

/* ---- helpers --------------------------------------------------------------------------- */

/* Fixed-seed LCG (Knuth's MMIX constants): uniform floats in [-1, 1). */
typedef struct {
    uint64_t s;
} lcg;

static float lcg_next(lcg *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)(r->s >> 40) / (float)(1 << 23) - 1.0f;
}

static float *rand_floats(lcg *r, int64_t n)
{
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = lcg_next(r);
    return x;
}

/* Output size along one axis for explicit before/after padding. */
static int64_t conv_len(int64_t in, int k, int s, int d, int before, int after)
{
    int64_t span = in + before + after - ((int64_t)(k - 1) * d + 1);
    return span < 0 ? 0 : span / s + 1;
}

static tlr_conv2d_params conv_params(int64_t n, int64_t h, int64_t w, int64_t cin,
                                     int64_t oh, int64_t ow, int64_t cout, int kh, int kw)
{
    tlr_conv2d_params p = {.n = n, .h = h, .w = w, .cin = cin, .oh = oh, .ow = ow,
                           .cout = cout, .kh = kh, .kw = kw, .sh = 1, .sw = 1, .dh = 1,
                           .dw = 1, .groups = 1};
    return p;
}

/* Conv2DTranspose as a gather, the other way round from the op's scatter: output (oy, ox)
 * of the window is full-output (oy + pad_top, ox + pad_left), which tap (ky, kx) reaches
 * from input iy = (fy - ky*dh) / sh when that divides exactly. */
static void conv_transpose_gather(const tlr_conv2d_params *p, const float *in,
                                  const float *kernel, const float *bias, float *out)
{
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t oy = 0; oy < p->oh; oy++)
            for (int64_t ox = 0; ox < p->ow; ox++)
                for (int64_t co = 0; co < p->cout; co++) {
                    double acc = bias ? (double)bias[co] : 0.0;
                    for (int64_t ky = 0; ky < p->kh; ky++) {
                        int64_t fy = oy + p->pad_top - ky * p->dh;
                        if (fy < 0 || fy % p->sh || fy / p->sh >= p->h)
                            continue;
                        for (int64_t kx = 0; kx < p->kw; kx++) {
                            int64_t fx = ox + p->pad_left - kx * p->dw;
                            if (fx < 0 || fx % p->sw || fx / p->sw >= p->w)
                                continue;
                            const float *x =
                                in + ((n * p->h + fy / p->sh) * p->w + fx / p->sw) * p->cin;
                            const float *k = kernel + ((ky * p->kw + kx) * p->cout + co) * p->cin;
                            for (int64_t ci = 0; ci < p->cin; ci++)
                                acc += (double)x[ci] * (double)k[ci];
                        }
                    }
                    out[((n * p->oh + oy) * p->ow + ox) * p->cout + co] = (float)acc;
                }
}

/* ---- hand-computed Conv2D ---------------------------------------------------------------- */

/* 3x3 input, 2x2 kernel, stride 2, 'same': out = ceil(3/2) = 2, pad_total =
 * max((2-1)*2 + 2 - 3, 0) = 1, pad_before = 0, so the extra zero row/column is at the
 * bottom/right.  Two images: 1..9 and all ones.  Filter 0 is [[1,2],[3,4]] with bias 0.5,
 * filter 1 is all -1 with bias 0.
 *   image 0, filter 0: (0,0) 1*1+2*2+4*3+5*4 = 37; (0,1) 3*1+6*3 = 21;
 *                      (1,0) 7*1+8*2 = 23;       (1,1) 9*1 = 9;        (+0.5 each)
 *   image 0, filter 1: -(1+2+4+5) = -12, -(3+6) = -9, -(7+8) = -15, -9
 *   image 1, filter 0: 1+2+3+4 = 10, 1+3 = 4, 1+2 = 3, 1 (+0.5); filter 1: -4, -2, -2, -1 */
static void conv_same_stride2(void)
{
    const float in[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const float kernel[8] = {1, -1, 2, -1, 3, -1, 4, -1}; /* (2, 2, 1, 2) */
    const float bias[2] = {0.5f, 0.0f};
    const float want[16] = {37.5f, -12, 21.5f, -9, 23.5f, -15, 9.5f, -9,
                            10.5f, -4,  4.5f,  -2, 3.5f,  -2,  1.5f, -1};
    tlr_conv2d_params p = conv_params(2, 3, 3, 1, 2, 2, 2, 2, 2);
    p.sh = p.sw = 2;
    float got[16], ref[16];
    tlr_op_conv2d(&p, in, kernel, bias, got);
    FLOATS_NEAR(got, want, 16, 0.0, "conv2d 3x3 k2 s2 same");
    tlr_op_conv2d_ref(&p, in, kernel, bias, ref);
    FLOATS_NEAR(ref, want, 16, 0.0, "conv2d_ref 3x3 k2 s2 same");
}

/* 1-D (H = 1), W = 4, kernel [1, 10, 100], 'same': pad_total = 2, pad_left = 1.
 * out[x] = in[x-1] + 10*in[x] + 100*in[x+1] = 0+10+200, 1+20+300, 2+30+400, 3+40+0. */
static void conv_same_pad_left(void)
{
    const float in[4] = {1, 2, 3, 4};
    const float kernel[3] = {1, 10, 100};
    const float want[4] = {210, 321, 432, 43};
    tlr_conv2d_params p = conv_params(1, 1, 4, 1, 1, 4, 1, 1, 3);
    p.pad_left = 1;
    float got[4], ref[4];
    tlr_op_conv2d(&p, in, kernel, NULL, got);
    FLOATS_NEAR(got, want, 4, 0.0, "conv2d 1-D same pad_left 1");
    tlr_op_conv2d_ref(&p, in, kernel, NULL, ref);
    FLOATS_NEAR(ref, want, 4, 0.0, "conv2d_ref 1-D same pad_left 1");
}

/* Dilation 2 on W = 5 with kernel [1, 10] (effective size 3), 'same': pad_left 1, so
 * out[x] = in[x-1] + 10*in[x+1] = 0+20, 1+30, 2+40, 3+50, 4+0. */
static void conv_dilated(void)
{
    const float in[5] = {1, 2, 3, 4, 5};
    const float kernel[2] = {1, 10};
    const float want[5] = {20, 31, 42, 53, 4};
    tlr_conv2d_params p = conv_params(1, 1, 5, 1, 1, 5, 1, 1, 2);
    p.dw = 2;
    p.pad_left = 1;
    float got[5], ref[5];
    tlr_op_conv2d(&p, in, kernel, NULL, got);
    FLOATS_NEAR(got, want, 5, 0.0, "conv2d dilation 2");
    tlr_op_conv2d_ref(&p, in, kernel, NULL, ref);
    FLOATS_NEAR(ref, want, 5, 0.0, "conv2d_ref dilation 2");
}

/* groups = 2.  (a) 1x2 kernel, cin 4 -> cout 2: pixels [1,2,3,4], [5,6,7,8]; kernel
 * (1, 2, 2, 2) = k[kx][ci][co] = {1,2,3,4,5,6,7,8}.  Group 0 (co 0) sees channels 0,1:
 * 1*1 + 2*3 + 5*5 + 6*7 = 74; group 1 (co 1) sees channels 2,3: 3*2 + 4*4 + 7*6 + 8*8 = 128.
 * (b) 1x1 kernel (pointwise path), cin 4 -> cout 4, kernel rows ci0 [1,2,3,4], ci1 [5,6,7,8]:
 * co0 = 1*1 + 2*5 = 11, co1 = 1*2 + 2*6 = 14, co2 = 3*3 + 4*7 = 37, co3 = 3*4 + 4*8 = 44. */
static void conv_groups(void)
{
    const float in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float kernel[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    float got[4], ref[4];

    tlr_conv2d_params p = conv_params(1, 1, 2, 4, 1, 1, 2, 1, 2);
    p.groups = 2;
    const float want_a[2] = {74, 128};
    tlr_op_conv2d(&p, in, kernel, NULL, got);
    FLOATS_NEAR(got, want_a, 2, 0.0, "conv2d groups 2, 1x2 kernel");
    tlr_op_conv2d_ref(&p, in, kernel, NULL, ref);
    FLOATS_NEAR(ref, want_a, 2, 0.0, "conv2d_ref groups 2, 1x2 kernel");

    p = conv_params(1, 1, 1, 4, 1, 1, 4, 1, 1);
    p.groups = 2;
    const float want_b[4] = {11, 14, 37, 44};
    tlr_op_conv2d(&p, in, kernel, NULL, got);
    FLOATS_NEAR(got, want_b, 4, 0.0, "conv2d groups 2, pointwise");
    tlr_op_conv2d_ref(&p, in, kernel, NULL, ref);
    FLOATS_NEAR(ref, want_b, 4, 0.0, "conv2d_ref groups 2, pointwise");
}

/* ---- hand-computed depthwise --------------------------------------------------------- */

/* Depth multiplier 2, 1x2 kernel, valid: pixels [1,2], [3,4]; kernel (1, 2, 2, 2) =
 * k[kx][c][m] = {1,2,3,4,5,6,7,8}; output channel c*2 + m:
 *   c0 m0 = 1*1 + 3*5 = 16, c0 m1 = 1*2 + 3*6 = 20, c1 m0 = 2*3 + 4*7 = 34,
 *   c1 m1 = 2*4 + 4*8 = 40; bias {0.5, 0, 0, -1}.
 * Conv2D with groups == cin == 2 and cout 4 is the same operation with the same kernel
 * bytes ((1, 2, 1, 4) has the (1, 2, 2, 2) layout), so it must agree. */
static void depthwise_multiplier2(void)
{
    const float in[4] = {1, 2, 3, 4};
    const float kernel[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float bias[4] = {0.5f, 0, 0, -1};
    const float want[4] = {16.5f, 20, 34, 39};
    tlr_conv2d_params p = conv_params(1, 1, 2, 2, 1, 1, 4, 1, 2);
    float got[4], ref[4], grouped[4];
    tlr_op_depthwise_conv2d(&p, 2, in, kernel, bias, got);
    FLOATS_NEAR(got, want, 4, 0.0, "depthwise dm 2");
    tlr_op_depthwise_conv2d_ref(&p, 2, in, kernel, bias, ref);
    FLOATS_NEAR(ref, want, 4, 0.0, "depthwise_ref dm 2");
    p.groups = 2;
    tlr_op_conv2d(&p, in, kernel, bias, grouped);
    FLOATS_NEAR(grouped, want, 4, 0.0, "conv2d groups == cin as depthwise");
}

/* ---- hand-computed Conv2DTranspose ----------------------------------------------------- */

/* Input [[1,2],[3,4]], kernel [[1,2,3],[4,5,6],[7,8,9]], stride 2.  Full output 5x5
 * (= (2-1)*2 + 3): input (iy, ix) adds in*k at rows 2iy.., columns 2ix..:
 *   row 0: [1,2,3] + 2*[1,2,3] at col 2          = [ 1,  2,  5,  4,  6]
 *   row 1: [4,5,6] + 2*[4,5,6]                   = [ 4,  5, 14, 10, 12]
 *   row 2: [7,8,9] + 2*[7,8,9] + 3*[1,2,3] + 4*[1,2,3] = [10, 14, 36, 24, 30]
 *   row 3: 3*[4,5,6] + 4*[4,5,6]                 = [12, 15, 34, 20, 24]
 *   row 4: 3*[7,8,9] + 4*[7,8,9]                 = [21, 24, 55, 32, 36]
 * (a) Keras 'same': out = 2*2 = 4; TF pads the equivalent forward conv by
 *     pad_total = (2-1)*2 + 3 - 4 = 1, pad_before = 0: the top-left 4x4 window.
 * (b) 'valid' with output_padding 1: out = (2-1)*2 + 3 + 1 = 6, window at 0: the 5x5
 *     plus a zero row and column; bias 1 everywhere. */
static void transpose_stride2(void)
{
    const float in[4] = {1, 2, 3, 4};
    const float kernel[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float want_a[16] = {1, 2, 5, 4, 4, 5, 14, 10, 10, 14, 36, 24, 12, 15, 34, 20};
    float got[36];
    tlr_conv2d_params p = conv_params(1, 2, 2, 1, 4, 4, 1, 3, 3);
    p.sh = p.sw = 2;
    tlr_op_conv2d_transpose(&p, in, kernel, NULL, got);
    FLOATS_NEAR(got, want_a, 16, 0.0, "conv2d_transpose k3 s2 same");

    const float want_b[36] = {2,  3,  6,  5,  7,  1, 5,  6,  15, 11, 13, 1,
                              11, 15, 37, 25, 31, 1, 13, 16, 35, 21, 25, 1,
                              22, 25, 56, 33, 37, 1, 1,  1,  1,  1,  1,  1};
    const float one = 1;
    p.oh = p.ow = 6;
    tlr_op_conv2d_transpose(&p, in, kernel, &one, got);
    FLOATS_NEAR(got, want_b, 36, 0.0, "conv2d_transpose valid output_padding 1");
}

/* 'same' window that does not start at 0: W = 3, kernel [1, 10, 100], stride 1:
 * full = [1, 1*10+2, 1*100+2*10+3, 2*100+3*10, 3*100] = [1, 12, 123, 230, 300];
 * out 3, pad_total = 2 + 3 - 3 = 2, pad_left = 1 -> [12, 123, 230]. */
static void transpose_same_offset(void)
{
    const float in[3] = {1, 2, 3};
    const float kernel[3] = {1, 10, 100};
    const float want[3] = {12, 123, 230};
    tlr_conv2d_params p = conv_params(1, 1, 3, 1, 1, 3, 1, 1, 3);
    p.pad_left = 1;
    float got[3];
    tlr_op_conv2d_transpose(&p, in, kernel, NULL, got);
    FLOATS_NEAR(got, want, 3, 0.0, "conv2d_transpose same, window at 1");
}

/* Kernel order (kh, kw, cout, cin): one pixel [1, 2], 1x2 kernel, 2 -> 2 channels,
 * kernel {1..8} = k[kx][co][ci]: kx0 co0 = 1*1 + 2*2 = 5, kx0 co1 = 1*3 + 2*4 = 11,
 * kx1 co0 = 1*5 + 2*6 = 17, kx1 co1 = 1*7 + 2*8 = 23. */
static void transpose_channels(void)
{
    const float in[2] = {1, 2};
    const float kernel[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float want[4] = {5, 11, 17, 23};
    tlr_conv2d_params p = conv_params(1, 1, 1, 2, 1, 2, 2, 1, 2);
    float got[4];
    tlr_op_conv2d_transpose(&p, in, kernel, NULL, got);
    FLOATS_NEAR(got, want, 4, 0.0, "conv2d_transpose kernel (kh, kw, cout, cin)");
}

/* ---- hand-computed Dense ----------------------------------------------------------------- */

/* [[1,2,3],[4,5,6]] x [[1,2],[3,4],[5,6]] + [0.5, -1]:
 * row 0: 1+6+15 = 22, 2+8+18 = 28; row 1: 4+15+30 = 49, 8+20+36 = 64. */
static void dense_hand(void)
{
    const float in[6] = {1, 2, 3, 4, 5, 6};
    const float kernel[6] = {1, 2, 3, 4, 5, 6};
    const float bias[2] = {0.5f, -1};
    const float want[4] = {22.5f, 27, 49.5f, 63};
    const float want_nobias[4] = {22, 28, 49, 64};
    float got[4];
    tlr_op_dense(2, 3, 2, in, kernel, bias, got);
    FLOATS_NEAR(got, want, 4, 0.0, "dense 2x3 x 3x2 + bias");
    tlr_op_dense_ref(2, 3, 2, in, kernel, bias, got);
    FLOATS_NEAR(got, want, 4, 0.0, "dense_ref 2x3 x 3x2 + bias");
    tlr_op_dense(1, 3, 2, in, kernel, bias, got); /* one row: the matrix-vector path */
    FLOATS_NEAR(got, want, 2, 0.0, "dense single row");
    got[0] = got[1] = got[2] = got[3] = NAN; /* output must not be read */
    tlr_op_dense(2, 3, 2, in, kernel, NULL, got);
    FLOATS_NEAR(got, want_nobias, 4, 0.0, "dense without bias over garbage");
    got[0] = got[1] = NAN;
    tlr_op_dense(1, 3, 2, in, kernel, NULL, got);
    FLOATS_NEAR(got, want_nobias, 2, 0.0, "dense single row without bias over garbage");
}

/* ---- randomized: fast paths against the reference loops -------------------------------- */

static void conv_compare(lcg *r, tlr_conv2d_params *p, const char *what)
{
    int64_t nin = p->n * p->h * p->w * p->cin;
    int64_t g = p->groups > 0 ? p->groups : 1;
    int64_t nk = (int64_t)p->kh * p->kw * (p->cin / g) * p->cout;
    int64_t nout = p->n * p->oh * p->ow * p->cout;
    float *in = rand_floats(r, nin), *kernel = rand_floats(r, nk);
    float *bias = rand_floats(r, p->cout);
    float *got = rand_floats(r, nout), *want = rand_floats(r, nout);
    tlr_op_conv2d(p, in, kernel, bias, got);
    tlr_op_conv2d_ref(p, in, kernel, bias, want);
    char msg[256];
    snprintf(msg, sizeof msg,
             "%s: n%lld %lldx%lld cin %lld cout %lld k%dx%d s%d,%d d%d,%d pad %d,%d out %lldx%lld g%d",
             what, (long long)p->n, (long long)p->h, (long long)p->w, (long long)p->cin,
             (long long)p->cout, p->kh, p->kw, p->sh, p->sw, p->dh, p->dw, p->pad_top,
             p->pad_left, (long long)p->oh, (long long)p->ow, p->groups);
    FLOATS_NEAR(got, want, (size_t)nout, 1e-5, msg);
    free(in);
    free(kernel);
    free(bias);
    free(got);
    free(want);
}

/* Fills geometry for kernel k, stride s, dilation d, padding 'pad' before and
 * (pad + 1) % 3 after (so before and after differ); returns 0 when the output is empty. */
static int set_geometry(tlr_conv2d_params *p, int k, int s, int d, int pad)
{
    p->kh = p->kw = k;
    p->sh = p->sw = s;
    p->dh = p->dw = d;
    p->pad_top = p->pad_left = pad;
    int after = (pad + 1) % 3;
    p->oh = conv_len(p->h, k, s, d, pad, after);
    p->ow = conv_len(p->w, k, s, d, pad, after);
    return p->oh > 0 && p->ow > 0;
}

static void conv_random(void)
{
    static const int64_t cins[] = {3, 5, 17}, couts[] = {1, 8, 33};
    static const int ks[] = {1, 2, 3, 5};
    lcg r = {12345};
    int cases = 0;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int ki = 0; ki < 4; ki++)
                for (int s = 1; s <= 2; s++)
                    for (int d = 1; d <= 2; d++)
                        for (int pad = 0; pad <= 2; pad++) {
                            tlr_conv2d_params p = conv_params(2, 7, 5, cins[a], 0, 0, couts[b],
                                                              1, 1);
                            if (!set_geometry(&p, ks[ki], s, d, pad))
                                continue;
                            conv_compare(&r, &p, "conv2d random");
                            cases++;
                        }
    OK(cases > 300, "most random conv2d geometries are non-empty");

    /* Grouped: im2col per group, pointwise per group, and groups == cin (depthwise). */
    static const int64_t grouped[][3] = {{6, 4, 2}, {12, 18, 3}, {4, 8, 4}, {9, 6, 3}};
    for (int i = 0; i < 4; i++)
        for (int ki = 0; ki < 4; ki++)
            for (int s = 1; s <= 2; s++) {
                tlr_conv2d_params p = conv_params(2, 7, 5, grouped[i][0], 0, 0, grouped[i][1],
                                                  1, 1);
                p.groups = (int)grouped[i][2];
                if (set_geometry(&p, ks[ki], s, 1, ki == 0 ? 0 : 1))
                    conv_compare(&r, &p, "conv2d random grouped");
            }

    /* Rectangular kernel, mixed strides and dilations. */
    tlr_conv2d_params p = conv_params(3, 9, 6, 5, 0, 0, 7, 3, 2);
    p.sh = 2;
    p.dw = 2;
    p.pad_top = 1;
    p.oh = conv_len(9, 3, 2, 1, 1, 1);
    p.ow = conv_len(6, 2, 1, 2, 0, 0);
    conv_compare(&r, &p, "conv2d rectangular");
}

/* The im2col matrix of this case (2*48*48 pixels x 3*3*512 floats = 85 MB) exceeds the
 * 64 MB scratch bound, so it is built in chunks, one boundary falling inside image 1. */
static void conv_chunked(void)
{
    lcg r = {777};
    tlr_conv2d_params p = conv_params(2, 48, 48, 512, 48, 48, 4, 3, 3);
    p.pad_top = p.pad_left = 1;
    conv_compare(&r, &p, "conv2d chunked im2col");
}

static void depthwise_random(void)
{
    static const int64_t cins[] = {3, 5, 17};
    static const int ks[] = {1, 2, 3, 5};
    lcg r = {2024};
    for (int a = 0; a < 3; a++)
        for (int dm = 1; dm <= 3; dm++)
            for (int ki = 0; ki < 4; ki++)
                for (int s = 1; s <= 2; s++)
                    for (int d = 1; d <= 2; d++)
                        for (int pad = 0; pad <= 2; pad++) {
                            tlr_conv2d_params p = conv_params(2, 7, 5, cins[a], 0, 0,
                                                              cins[a] * dm, 1, 1);
                            if (!set_geometry(&p, ks[ki], s, d, pad))
                                continue;
                            int64_t nin = p.n * p.h * p.w * p.cin;
                            int64_t nk = (int64_t)p.kh * p.kw * p.cout;
                            int64_t nout = p.n * p.oh * p.ow * p.cout;
                            float *in = rand_floats(&r, nin), *kernel = rand_floats(&r, nk);
                            float *bias = rand_floats(&r, p.cout);
                            float *got = rand_floats(&r, nout), *want = rand_floats(&r, nout);
                            tlr_op_depthwise_conv2d(&p, dm, in, kernel, bias, got);
                            tlr_op_depthwise_conv2d_ref(&p, dm, in, kernel, bias, want);
                            char msg[128];
                            snprintf(msg, sizeof msg, "depthwise cin %lld dm %d k%d s%d d%d pad %d",
                                     (long long)p.cin, dm, p.kh, s, d, pad);
                            FLOATS_NEAR(got, want, (size_t)nout, 1e-5, msg);
                            free(in);
                            free(kernel);
                            free(bias);
                            free(got);
                            free(want);
                        }
}

static void transpose_compare(lcg *r, const tlr_conv2d_params *p, const char *what)
{
    int64_t nin = p->n * p->h * p->w * p->cin;
    int64_t nk = (int64_t)p->kh * p->kw * p->cin * p->cout;
    int64_t nout = p->n * p->oh * p->ow * p->cout;
    float *in = rand_floats(r, nin), *kernel = rand_floats(r, nk);
    float *bias = rand_floats(r, p->cout);
    float *got = rand_floats(r, nout), *want = rand_floats(r, nout);
    tlr_op_conv2d_transpose(p, in, kernel, bias, got);
    conv_transpose_gather(p, in, kernel, bias, want);
    char msg[256];
    snprintf(msg, sizeof msg, "%s: cin %lld cout %lld k%d s%d d%d pad %d out %lldx%lld", what,
             (long long)p->cin, (long long)p->cout, p->kh, p->sh, p->dh, p->pad_top,
             (long long)p->oh, (long long)p->ow);
    FLOATS_NEAR(got, want, (size_t)nout, 1e-5, msg);
    free(in);
    free(kernel);
    free(bias);
    free(got);
    free(want);
}

static void transpose_random(void)
{
    static const int64_t cins[] = {3, 5}, couts[] = {1, 8};
    lcg r = {99};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int k = 1; k <= 3; k++)
                for (int s = 1; s <= 3; s++)
                    for (int d = 1; d <= 2; d++)
                        for (int pad = 0; pad <= 2; pad++)
                            for (int extra = 0; extra <= 1; extra++) {
                                tlr_conv2d_params p = conv_params(2, 4, 3, cins[a], 0, 0,
                                                                  couts[b], k, k);
                                p.sh = p.sw = s;
                                p.dh = p.dw = d;
                                p.pad_top = p.pad_left = pad;
                                /* full size minus the window offset on both sides, plus
                                 * 'extra' rows past the end (output_padding) */
                                int64_t keff = (int64_t)(k - 1) * d + 1;
                                p.oh = (p.h - 1) * s + keff - 2 * pad + extra;
                                p.ow = (p.w - 1) * s + keff - 2 * pad + extra;
                                if (p.oh <= 0 || p.ow <= 0)
                                    continue;
                                transpose_compare(&r, &p, "conv2d_transpose random");
                            }
    /* Scratch of 2*24*20 input pixels x 3*3*2048 floats (71 MB) goes in chunks. */
    tlr_conv2d_params p = conv_params(2, 24, 20, 4, 48, 40, 2048, 3, 3);
    p.sh = p.sw = 2;
    transpose_compare(&r, &p, "conv2d_transpose chunked");
}

static void dense_random(void)
{
    static const int64_t rows[] = {1, 3, 65}, ins[] = {1, 7, 130}, outs[] = {1, 9, 257};
    lcg r = {31337};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 3; c++)
                for (int with_bias = 0; with_bias <= 1; with_bias++) {
                    int64_t m = rows[a], k = ins[b], n = outs[c];
                    float *in = rand_floats(&r, m * k), *kernel = rand_floats(&r, k * n);
                    float *bias = with_bias ? rand_floats(&r, n) : NULL;
                    float *got = rand_floats(&r, m * n), *want = rand_floats(&r, m * n);
                    tlr_op_dense(m, k, n, in, kernel, bias, got);
                    tlr_op_dense_ref(m, k, n, in, kernel, bias, want);
                    char msg[96];
                    snprintf(msg, sizeof msg, "dense %lldx%lld x %lldx%lld bias %d",
                             (long long)m, (long long)k, (long long)k, (long long)n, with_bias);
                    FLOATS_NEAR(got, want, (size_t)(m * n), 1e-5, msg);
                    free(in);
                    free(kernel);
                    free(bias);
                    free(got);
                    free(want);
                }
}

void test_ops_conv(void)
{
    conv_same_stride2();
    conv_same_pad_left();
    conv_dilated();
    conv_groups();
    depthwise_multiplier2();
    transpose_stride2();
    transpose_same_offset();
    transpose_channels();
    dense_hand();
    conv_random();
    conv_chunked();
    depthwise_random();
    transpose_random();
    dense_random();
}
