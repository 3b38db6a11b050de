/* grad_conv.c - input gradients of Conv2D, DepthwiseConv2D, Conv2DTranspose and Dense.
 *
 * The forward Conv2D reads input cell iy = oy*s - pad_top + ky*d for output row oy and tap
 * ky, so the input gradient adds dy[oy] * kernel[ky] into dx[iy] over every (oy, ky) pair.
 * That sum is itself a convolution, run on the fast forward paths:
 *   - stride 1: oy = iy - ((k-1)*d - pad_top) + ky'*d with ky' = k-1-ky, a stride-1
 *     convolution of dy with the kernel flipped in space (channels swapped per group) and
 *     padding (k-1)*d - pad_top before; it reads dy past its edges as zeros, which is
 *     exactly "no output there".  3x3 layers so reach Winograd, the rest the im2col GEMM.
 *   - stride > 1: the same scatter is what Conv2DTranspose computes with the forward kernel
 *     as stored (a GEMM into columns, then a col2im add), group by group.
 * The _ref loop does the scatter literally, in double, for the tests. */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/threads.h"
#include "base/xalloc.h"
#include "engine/gemm.h"
#include "engine/grad.h"

/* The forward params with input and output swapped: dy (N, OH, OW, Cout) in, dx out. */
static tlr_conv2d_params swapped(const tlr_conv2d_params *p)
{
    tlr_conv2d_params q = *p;
    q.h = p->oh;
    q.w = p->ow;
    q.cin = p->cout;
    q.oh = p->h;
    q.ow = p->w;
    q.cout = p->cin;
    return q;
}

/* Stride 1 with padding before no larger than the kernel's reach: the flipped-kernel
 * convolution's padding (k-1)*d - pad is then >= 0. */
static int flipped_applies(const tlr_conv2d_params *p)
{
    return p->sh == 1 && p->sw == 1 && p->pad_top <= (p->kh - 1) * p->dh &&
           p->pad_left <= (p->kw - 1) * p->dw;
}

/* Params of the stride-1 gradient convolution (flipped_applies(p) holds). */
static tlr_conv2d_params flipped_params(const tlr_conv2d_params *p)
{
    tlr_conv2d_params q = swapped(p);
    q.pad_top = (p->kh - 1) * p->dh - p->pad_top;
    q.pad_left = (p->kw - 1) * p->dw - p->pad_left;
    return q;
}

float *tlr_grad_conv2d_kernel(const tlr_conv2d_params *p, const float *kernel)
{
    int64_t groups = tlr_conv2d_groups(p);
    int64_t cin = p->cin, cout = p->cout, cin_g = cin / groups, cout_g = cout / groups;
    int64_t taps = (int64_t)p->kh * p->kw;
    float *f = tlr_xmalloc((size_t)(taps * cout_g * cin) * sizeof *f);
    for (int64_t t = 0; t < taps; t++) {
        const float *src = kernel + (taps - 1 - t) * cin_g * cout; // (cin_g, cout)
        float *dst = f + t * cout_g * cin;                         // (cout_g, cin)
        for (int64_t g = 0; g < groups; g++)
            for (int64_t ci = 0; ci < cin_g; ci++)
                for (int64_t co = 0; co < cout_g; co++)
                    dst[co * cin + g * cin_g + ci] = src[ci * cout + g * cout_g + co];
    }
    return f;
}

/* One group's scatter as a Conv2DTranspose: dy columns [g*cout_g, +cout_g) and the kernel
 * columns of that group copied out, the result copied into dx columns [g*cin_g, +cin_g). */
static void grouped_transpose(const tlr_conv2d_params *p, int64_t groups, const float *dy,
                              const float *kernel, float *dx)
{
    int64_t cin_g = p->cin / groups, cout_g = p->cout / groups;
    int64_t taps = (int64_t)p->kh * p->kw;
    int64_t in_pix = p->n * p->h * p->w, out_pix = p->n * p->oh * p->ow;
    float *dyg = tlr_xmalloc((size_t)(out_pix * cout_g) * sizeof *dyg);
    float *kg = tlr_xmalloc((size_t)(taps * cin_g * cout_g) * sizeof *kg);
    float *dxg = tlr_xmalloc((size_t)(in_pix * cin_g) * sizeof *dxg);
    tlr_conv2d_params t = swapped(p);
    t.cin = cout_g;
    t.cout = cin_g;
    t.groups = 1;
    for (int64_t g = 0; g < groups; g++) {
        for (int64_t i = 0; i < out_pix; i++)
            memcpy(dyg + i * cout_g, dy + i * p->cout + g * cout_g, (size_t)cout_g * sizeof *dyg);
        for (int64_t r = 0; r < taps * cin_g; r++) /* rows (ky, kx, ci) of (.., cout) */
            memcpy(kg + r * cout_g, kernel + r * p->cout + g * cout_g,
                   (size_t)cout_g * sizeof *kg);
        tlr_op_conv2d_transpose(&t, dyg, kg, NULL, dxg);
        for (int64_t i = 0; i < in_pix; i++)
            memcpy(dx + i * p->cin + g * cin_g, dxg + i * cin_g, (size_t)cin_g * sizeof *dx);
    }
    free(dyg);
    free(kg);
    free(dxg);
}

void tlr_grad_conv2d_prepared(const tlr_conv2d_params *p, const float *dy, const float *kernel,
                              const float *flipped, float *dx)
{
    tlr_conv2d_params_check(p);
    int64_t groups = tlr_conv2d_groups(p);
    if (groups > 1 && groups == p->cin) { /* the forward op's depthwise route */
        tlr_grad_depthwise_conv2d(p, (int)(p->cout / p->cin), dy, kernel, dx);
        return;
    }
    int64_t in_floats = p->n * p->h * p->w * p->cin;
    if (in_floats == 0)
        return;
    if (p->oh * p->ow == 0) {
        memset(dx, 0, (size_t)in_floats * sizeof *dx);
        return;
    }
    if (flipped_applies(p)) {
        tlr_conv2d_params q = flipped_params(p);
        float *own = flipped ? NULL : tlr_grad_conv2d_kernel(p, kernel);
        tlr_op_conv2d(&q, dy, flipped ? flipped : own, NULL, dx);
        free(own);
        return;
    }
    if (groups == 1) {
        /* Conv2DTranspose takes (kh, kw, its cout, its cin) = the forward kernel as stored */
        tlr_conv2d_params t = swapped(p);
        t.groups = 1;
        tlr_op_conv2d_transpose(&t, dy, kernel, NULL, dx);
        return;
    }
    grouped_transpose(p, groups, dy, kernel, dx);
}

void tlr_grad_conv2d(const tlr_conv2d_params *p, const float *dy, const float *kernel,
                     float *dx)
{
    tlr_grad_conv2d_prepared(p, dy, kernel, NULL, dx);
}

void tlr_grad_conv2d_ref(const tlr_conv2d_params *p, const float *dy, const float *kernel,
                         float *dx)
{
    tlr_conv2d_params_check(p);
    int64_t groups = tlr_conv2d_groups(p);
    int64_t cin_g = p->cin / groups, cout_g = p->cout / groups;
    int64_t in_floats = p->n * p->h * p->w * p->cin;
    double *acc = tlr_xcalloc((size_t)(in_floats > 0 ? in_floats : 1), sizeof *acc);
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t oy = 0; oy < p->oh; oy++)
            for (int64_t ox = 0; ox < p->ow; ox++)
                for (int64_t co = 0; co < p->cout; co++) {
                    double d = dy[((n * p->oh + oy) * p->ow + ox) * p->cout + co];
                    int64_t g = co / cout_g;
                    for (int64_t ky = 0; ky < p->kh; ky++) {
                        int64_t iy = oy * p->sh - p->pad_top + ky * p->dh;
                        if (iy < 0 || iy >= p->h)
                            continue;
                        for (int64_t kx = 0; kx < p->kw; kx++) {
                            int64_t ix = ox * p->sw - p->pad_left + kx * p->dw;
                            if (ix < 0 || ix >= p->w)
                                continue;
                            double *a = acc + ((n * p->h + iy) * p->w + ix) * p->cin + g * cin_g;
                            const float *k = kernel + ((ky * p->kw + kx) * cin_g) * p->cout + co;
                            for (int64_t ci = 0; ci < cin_g; ci++)
                                a[ci] += d * (double)k[ci * p->cout];
                        }
                    }
                }
    for (int64_t i = 0; i < in_floats; i++)
        dx[i] = (float)acc[i];
    free(acc);
}

/* ---- DepthwiseConv2D ------------------------------------------------------------------- */

typedef struct {
    const tlr_conv2d_params *p;
    int64_t dm;
    const float *dy, *kernel;
    float *dx;
} dw_job;

/* The output index that tap k reads input index i from along one axis, or -1 when none:
 * i = o*s - pad + k*d. */
static int64_t tap_source(int64_t i, int64_t k, int pad, int s, int d, int64_t out_size)
{
    int64_t t = i + pad - k * d;
    if (t < 0 || t % s != 0 || t / s >= out_size)
        return -1;
    return t / s;
}

/* x (cin) += the products of d and k (cin, dm) summed over m, one tap of one output pixel.
 * The dm == 1 case in blocks of 8 independent lanes, which the compiler turns into vector
 * code (the pointers never overlap). */
static void dw_tap_add(float *restrict x, const float *restrict d, const float *restrict k,
                       int64_t cin, int64_t dm)
{
    if (dm == 1) {
        int64_t c = 0;
        for (; c + 8 <= cin; c += 8)
            for (int j = 0; j < 8; j++)
                x[c + j] += d[c + j] * k[c + j];
        for (; c < cin; c++)
            x[c] += d[c] * k[c];
        return;
    }
    for (int64_t c = 0; c < cin; c++) {
        float s = 0.0f;
        for (int64_t m = 0; m < dm; m++)
            s += d[c * dm + m] * k[c * dm + m];
        x[c] += s;
    }
}

/* Input rows [begin, end) over (N, H): each dx cell gathers dy * kernel from the outputs
 * that read it, so each thread writes its own rows. */
static void dw_gather_rows(void *ctx, int64_t begin, int64_t end, int tid)
{
    const dw_job *J = ctx;
    const tlr_conv2d_params *p = J->p;
    int64_t cin = p->cin, cout = p->cout, dm = J->dm;
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / p->h, iy = r % p->h;
        float *row = J->dx + r * p->w * cin;
        memset(row, 0, (size_t)(p->w * cin) * sizeof *row);
        for (int64_t ky = 0; ky < p->kh; ky++) {
            int64_t oy = tap_source(iy, ky, p->pad_top, p->sh, p->dh, p->oh);
            if (oy < 0)
                continue;
            for (int64_t ix = 0; ix < p->w; ix++)
                for (int64_t kx = 0; kx < p->kw; kx++) {
                    int64_t ox = tap_source(ix, kx, p->pad_left, p->sw, p->dw, p->ow);
                    if (ox < 0)
                        continue;
                    const float *d = J->dy + ((n * p->oh + oy) * p->ow + ox) * cout;
                    const float *k = J->kernel + (ky * p->kw + kx) * cout;
                    dw_tap_add(row + ix * cin, d, k, cin, dm);
                }
        }
    }
}

/* Flips the depthwise taps in space (kh, kw, cin): the stride-1 gradient is then the
 * forward depthwise convolution of dy. */
static float *flip_taps(const tlr_conv2d_params *p, const float *kernel)
{
    int64_t taps = (int64_t)p->kh * p->kw;
    float *f = tlr_xmalloc((size_t)(taps * p->cin) * sizeof *f);
    for (int64_t t = 0; t < taps; t++)
        memcpy(f + t * p->cin, kernel + (taps - 1 - t) * p->cin, (size_t)p->cin * sizeof *f);
    return f;
}

void tlr_grad_depthwise_conv2d(const tlr_conv2d_params *p, int depth_multiplier,
                               const float *dy, const float *kernel, float *dx)
{
    tlr_conv2d_params_check(p);
    int64_t dm = depth_multiplier;
    TLR_ASSERT(dm > 0 && p->cout == p->cin * dm);
    int64_t rows = p->n * p->h;
    if (rows * p->w == 0)
        return;
    if (dm == 1 && flipped_applies(p) && p->oh * p->ow > 0) {
        tlr_conv2d_params q = flipped_params(p);
        float *f = flip_taps(p, kernel);
        tlr_op_depthwise_conv2d(&q, 1, dy, f, NULL, dx);
        free(f);
        return;
    }
    dw_job J = { p, dm, dy, kernel, dx };
    int64_t work = rows * p->w * p->kh * p->kw * p->cout;
    tlr_parallel_for_n(rows, work < ((int64_t)1 << 16) ? 1 : TLR_THREADS_MAX, dw_gather_rows, &J);
}

/* ---- Conv2DTranspose and Dense ----------------------------------------------------------- */

void tlr_grad_conv2d_transpose(const tlr_conv2d_params *p, const float *dy, const float *kernel,
                               float *dx)
{
    tlr_conv2d_params_check(p);
    TLR_ASSERT(p->groups <= 1);
    if (p->n * p->h * p->w == 0)
        return;
    /* The transposed op adds x[iy] * kernel[ky] into out[iy*s + ky*d - pad]: the gradient
     * gathers dy from those places, a forward Conv2D with the kernel as stored
     * (kh, kw, cout, cin) = (kh, kw, its cin, its cout). */
    tlr_conv2d_params q = swapped(p);
    q.groups = 1;
    if (p->oh * p->ow == 0) {
        memset(dx, 0, (size_t)(p->n * p->h * p->w * p->cin) * sizeof *dx);
        return;
    }
    tlr_op_conv2d(&q, dy, kernel, NULL, dx);
}

void tlr_grad_dense(int64_t rows, int64_t n_in, int64_t n_out, const float *dy,
                    const float *kernel, float *dx)
{
    TLR_ASSERT(rows >= 0 && n_in >= 0 && n_out >= 0);
    if (rows * n_in == 0)
        return;
    if (n_out == 0) {
        memset(dx, 0, (size_t)(rows * n_in) * sizeof *dx);
        return;
    }
    /* dx (rows, n_in) = dy (rows, n_out) x kernel^T, the kernel read as (n_in, n_out) */
    tlr_gemm(TLR_NO_TRANS, TLR_TRANS, rows, n_in, n_out, dy, n_out, kernel, n_out, 0.0f, dx,
             n_in);
}
