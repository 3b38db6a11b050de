/* ops_conv.c - Conv2D (grouped, strided, dilated, explicit padding), DepthwiseConv2D and
 * Conv2DTranspose on channels_last data.
 *
 * tlr_op_conv2d_post picks the fastest exact method for the shape:
 *   - 3x3 stride 1 with enough channels and pixels: Winograd F(4x4, 3x3) (kern_winograd.c);
 *   - few input channels (an RGB image): kernel rows read from the image in place, by the
 *     direct kernel (kern_stem.c) or, without AVX2, through the GEMM's register kernels;
 *   - 1x1, stride 1, no padding: the input already is the (pixels, cin) matrix (read in place),
 *     times the kernel read in place (kern_pointwise.c);
 *   - otherwise an implicit im2col: rows of receptive fields in kernel order (ky, kx, ci),
 *     gathered block by block straight into the GEMM's packed buffers, so the Keras kernel
 *     (kh, kw, cin/groups, cout) is used as it is stored, as a (kh*kw*cin/groups, cout)
 *     matrix and the whole im2col matrix never exists;
 *   - one input channel per group: depthwise (kern_depthwise.c).
 * Pixels of all batch images are flattened into one row index (the output is contiguous in
 * (N, OH, OW) order).  Bias, a post-op (BatchNormalization, residual, ReLU) and the
 * activation are applied as the results are written.  The _ref functions are the plain
 * loops the tests trust. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/err.h"
#include "base/threads.h"
#include "base/xalloc.h"
#include "engine/kern_depthwise.h"
#include "engine/kern_pointwise.h"
#include "engine/kern_stem.h"
#include "engine/gemm.h"
#include "engine/ops.h"
#include "engine/kern_winograd.h"

/* Upper bound of the col2im scratch matrix of Conv2DTranspose. */
#define SCRATCH_BYTES ((size_t)16 << 20)

/* Number of rows of 'row_len' floats that fit the scratch bound (at least 1), capped at
 * 'total'. */
static int64_t chunk_rows(int64_t row_len, int64_t total)
{
    int64_t fit = (int64_t)(SCRATCH_BYTES / sizeof(float)) / (row_len > 0 ? row_len : 1);
    if (fit < 1)
        fit = 1;
    return fit < total ? fit : total;
}

void tlr_conv2d_params_check(const tlr_conv2d_params *p)
{
    TLR_ASSERT(p->n >= 0 && p->h >= 0 && p->w >= 0 && p->cin > 0);
    TLR_ASSERT(p->oh >= 0 && p->ow >= 0 && p->cout > 0);
    TLR_ASSERT(p->kh > 0 && p->kw > 0 && p->sh > 0 && p->sw > 0 && p->dh > 0 && p->dw > 0);
    TLR_ASSERT(p->pad_top >= 0 && p->pad_left >= 0);
}

int64_t tlr_conv2d_groups(const tlr_conv2d_params *p)
{
    int64_t g = p->groups > 0 ? p->groups : 1;
    TLR_ASSERT(p->cin % g == 0 && p->cout % g == 0);
    return g;
}

/* out (rows, cout) = bias broadcast over rows, or zeros. */
static void fill_bias(float *out, int64_t rows, int64_t cout, const float *bias)
{
    if (!bias) {
        memset(out, 0, (size_t)(rows * cout) * sizeof *out);
        return;
    }
    for (int64_t r = 0; r < rows; r++)
        memcpy(out + r * cout, bias, (size_t)cout * sizeof *out);
}

/* ---- Conv2D reference ---------------------------------------------------------------- */

void tlr_op_conv2d_ref(const tlr_conv2d_params *p, const float *in, const float *kernel,
                       const float *bias, float *out)
{
    tlr_conv2d_params_check(p);
    int64_t groups = tlr_conv2d_groups(p);
    int64_t cin_g = p->cin / groups, cout_g = p->cout / groups;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t oy = 0; oy < p->oh; oy++)
            for (int64_t ox = 0; ox < p->ow; ox++)
                for (int64_t co = 0; co < p->cout; co++) {
                    int64_t g = co / cout_g;
                    double acc = bias ? (double)bias[co] : 0.0;
                    for (int64_t ky = 0; ky < p->kh; ky++) {
                        int64_t iy = oy * p->sh - p->pad_top + ky * p->dh;
                        if (iy < 0 || iy >= p->h)
                            continue;
                        for (int64_t kx = 0; kx < p->kw; kx++) {
                            int64_t ix = ox * p->sw - p->pad_left + kx * p->dw;
                            if (ix < 0 || ix >= p->w)
                                continue;
                            for (int64_t ci = 0; ci < cin_g; ci++) {
                                float x = in[((n * p->h + iy) * p->w + ix) * p->cin +
                                             g * cin_g + ci];
                                float k = kernel[((ky * p->kw + kx) * cin_g + ci) * p->cout + co];
                                acc += (double)x * (double)k;
                            }
                        }
                    }
                    out[((n * p->oh + oy) * p->ow + ox) * p->cout + co] = (float)acc;
                }
}

/* ---- Conv2D fast paths ------------------------------------------------------------------ */

/* Gathers rows of the im2col matrix straight from the image for the GEMM driver: row =
 * output pixel (flattened over N, OH, OW), column = (ky, kx, ci) over the channel slice
 * [c0, c0 + cin_g) of one group, taps in the padding read as zeros. */
typedef struct {
    const tlr_conv2d_params *p;
    const float *in;
    int64_t c0, cin_g;
} im2col_src;

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* memcpy of n floats for the short runs of small-channel layers (3 to 27 floats): inline
 * 4-float moves where a library call per run would cost more than the copy. */
static inline void copy_floats(float *d, const float *s, int64_t n)
{
    if (n > 32) {
        memcpy(d, s, (size_t)n * sizeof *d);
        return;
    }
    int64_t q = 0;
    for (; q + 4 <= n; q += 4)
        memcpy(d + q, s + q, 4 * sizeof *d);
    if (q < n)
        d[q] = s[q];
    if (q + 1 < n)
        d[q + 1] = s[q + 1];
    if (q + 2 < n)
        d[q + 2] = s[q + 2];
}

/* Columns [k0, k0 + kc) of rows [i0, i0 + rows) into dst (rows, kc). */
static void pack_im2col(void *ctx, int64_t i0, int64_t rows, int64_t k0, int64_t kc, float *dst)
{
    const im2col_src *S = ctx;
    const tlr_conv2d_params *p = S->p;
    int64_t cin_g = S->cin_g, kw = p->kw, row_len = kw * cin_g, k1 = k0 + kc;
    /* with dilation 1 and one group a kernel row's taps are kw adjacent pixels */
    int adjacent = p->dw == 1 && cin_g == p->cin;
    /* the output pixel of row i0, then stepped along (no divisions per row) */
    int64_t ox = i0 % p->ow, oy = (i0 / p->ow) % p->oh, n = i0 / (p->ow * p->oh);
    for (int64_t r = 0; r < rows; r++) {
        int64_t ix0 = ox * p->sw - p->pad_left;
        float *d = dst + r * kc; /* column kk at d[kk - k0] */
        for (int64_t ky = k0 / row_len; ky < p->kh && ky * row_len < k1; ky++) {
            int64_t a = max64(k0, ky * row_len), b = min64(k1, (ky + 1) * row_len);
            int64_t iy = oy * p->sh - p->pad_top + ky * p->dh;
            if (iy < 0 || iy >= p->h) {
                memset(d + (a - k0), 0, (size_t)(b - a) * sizeof *d);
                continue;
            }
            const float *src = S->in + (n * p->h + iy) * p->w * p->cin + S->c0;
            if (adjacent && ix0 >= 0 && ix0 + kw <= p->w) {
                copy_floats(d + (a - k0), src + ix0 * p->cin + (a - ky * row_len), b - a);
                continue;
            }
            for (int64_t kx = (a - ky * row_len) / cin_g; kx < kw; kx++) {
                int64_t t0 = ky * row_len + kx * cin_g;
                int64_t s0 = max64(a, t0), s1 = min64(b, t0 + cin_g);
                if (s0 >= s1)
                    break;
                int64_t ix = ix0 + kx * p->dw;
                if (ix < 0 || ix >= p->w)
                    memset(d + (s0 - k0), 0, (size_t)(s1 - s0) * sizeof *d);
                else
                    copy_floats(d + (s0 - k0), src + ix * p->cin + (s0 - t0), s1 - s0);
            }
        }
        if (++ox == p->ow) {
            ox = 0;
            if (++oy == p->oh) {
                oy = 0;
                n++;
            }
        }
    }
}

/* 1x1, stride 1, no padding, same spatial size: the input already is the (pixels, cin)
 * matrix. */
static int is_pointwise(const tlr_conv2d_params *p)
{
    return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 &&
           p->pad_left == 0 && p->oh == p->h && p->ow == p->w;
}

/* Group by group: out columns of group g = A_g (pixels, kh*kw*cin_g) x kernel columns of g
 * (the Keras kernel (kh, kw, cin_g, cout) is that matrix as stored). */
static void conv_gemm(const tlr_conv2d_params *p, int64_t groups, const float *in,
                      const float *kernel, const tlr_conv_post *post, float *out)
{
    int64_t pixels = p->n * p->oh * p->ow;
    int64_t cin_g = p->cin / groups, cout_g = p->cout / groups;
    int64_t k = (int64_t)p->kh * p->kw * cin_g;
    if (groups == 1 && is_pointwise(p) && tlr_kern_pointwise_applies(pixels, k)) {
        /* the same sums as the GEMM, without packing the weights on every call */
        tlr_kern_pointwise(pixels, k, p->cout, in, p->cin, kernel, p->cout, post, out, p->cout);
        return;
    }
    for (int64_t g = 0; g < groups; g++) {
        tlr_conv_post pg, *pp = NULL;
        if (post) {
            pg = tlr_post_at(post, 0, g * cout_g, p->cout);
            pp = &pg;
        }
        if (is_pointwise(p)) {
            tlr_gemm_rows(pixels, cout_g, k, in + g * cin_g, p->cin, TLR_NO_TRANS,
                          kernel + g * cout_g, p->cout, 0.0f, out + g * cout_g, p->cout, pp);
        } else {
            im2col_src S = { p, in, g * cin_g, cin_g };
            tlr_gemm_packed_a(pixels, cout_g, k, pack_im2col, &S, TLR_NO_TRANS,
                              kernel + g * cout_g, p->cout, 0.0f, out + g * cout_g, p->cout, pp);
        }
    }
}

/* ---- few input channels: kernel rows read from the image in place ------------------------ */

/* With few input channels (an RGB image: VGG's first layer, MobileNet's stride-2 stem) the
 * im2col gather costs as much as the products.  But one kernel row's taps over a run of
 * output pixels already form a matrix in the image: pixel i's kw * cin values start
 * i * stride * cin floats after pixel 0's, contiguous.  So each block of MR pixels is the
 * sum over kernel rows of register-kernel products read in place, accumulated in the
 * output; only blocks touching the left or right edge go through the gather.  Needs
 * dilation 1 along x, one group and kh * kw * cin within one slice of k. */
#define ROWS_CIN_MAX 8

typedef struct {
    const tlr_conv2d_params *p;
    const float *in;
    const tlr_conv_post *post;
    float *out;
    const tlr_gemm_kernel *kr;
    const float *bp; /* the packed kernel: panels of (K, NR) */
    int64_t K, npan;
} rows_job;

static int rows_direct_applies(const tlr_conv2d_params *p, int64_t groups, int64_t kc)
{
    return groups == 1 && p->cin <= ROWS_CIN_MAX && p->dw == 1 && !is_pointwise(p) &&
           (int64_t)p->kh * p->kw * p->cin <= kc;
}

/* Output rows [begin, end) over (N, OH). */
static void rows_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const rows_job *J = ctx;
    const tlr_conv2d_params *p = J->p;
    const tlr_gemm_kernel *kr = J->kr;
    int64_t mr = kr->mr, nr = kr->nr, cin = p->cin, run = p->kw * cin;
    float *ap = tlr_thread_scratch(tid, 1, (size_t)(mr * J->K) * sizeof(float));
    im2col_src S = { p, J->in, 0, cin };
    for (int64_t r = begin; r < end; r++) {
        int64_t n = r / p->oh, oy = r % p->oh;
        for (int64_t ox = 0; ox < p->ow; ox += mr) {
            int64_t rows = p->ow - ox < mr ? p->ow - ox : mr;
            int64_t pix = r * p->ow + ox; /* output row index of the GEMM */
            int64_t ix0 = ox * p->sw - p->pad_left;
            int inside = rows == mr && ix0 >= 0 && ix0 + (mr - 1) * p->sw + p->kw <= p->w;
            if (!inside)
                pack_im2col(&S, pix, rows, 0, J->K, ap);
            for (int64_t j = 0; j < J->npan; j++) {
                const float *panel = J->bp + j * J->K * nr;
                int cols = (int)(p->cout - j * nr < nr ? p->cout - j * nr : nr);
                float *c = J->out + pix * p->cout + j * nr;
                tlr_conv_post post;
                if (J->post)
                    post = tlr_post_at(J->post, pix, j * nr, p->cout);
                if (!inside) {
                    if (rows < mr) /* the kernel reads MR rows: zero the ones past the row */
                        memset(ap + rows * J->K, 0, (size_t)((mr - rows) * J->K) * sizeof *ap);
                    kr->run(J->K, ap, J->K, panel, c, p->cout, (int)rows, cols, 0,
                            J->post ? &post : NULL);
                    continue;
                }
                /* kernel rows inside the image, each a product added to the last */
                int64_t ky0 = 0, ky1 = p->kh, iy0 = oy * p->sh - p->pad_top;
                while (ky0 < ky1 && iy0 + ky0 * p->dh < 0)
                    ky0++;
                while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dh >= p->h)
                    ky1--;
                if (ky0 == ky1) { /* every tap in the padding: post(0) */
                    for (int64_t i = 0; i < rows; i++)
                        for (int64_t q = 0; q < cols; q++)
                            c[i * p->cout + q] = tlr_post_apply(J->post ? &post : NULL, q,
                                                                i * p->cout + q, 0.0f);
                    continue;
                }
                for (int64_t ky = ky0; ky < ky1; ky++) {
                    const float *a = J->in + ((n * p->h + iy0 + ky * p->dh) * p->w + ix0) * cin;
                    kr->run(run, a, p->sw * cin, panel + ky * run * nr, c, p->cout, (int)rows,
                            cols, ky > ky0, ky == ky1 - 1 && J->post ? &post : NULL);
                }
            }
        }
    }
}

static void conv_rows_direct(const tlr_conv2d_params *p, const float *in, const float *kernel,
                             const tlr_conv_post *post, float *out)
{
    const tlr_gemm_kernel *kr = tlr_gemm_kernel_for_n(tlr_cpu_isa(), p->cout);
    int64_t K = (int64_t)p->kh * p->kw * p->cin, npan = (p->cout + kr->nr - 1) / kr->nr;
    float *bp = tlr_xmalloc((size_t)(K * npan * kr->nr) * sizeof *bp);
    tlr_gemm_pack_b(kr, TLR_NO_TRANS, kernel, p->cout, 0, K, 0, p->cout, bp);
    rows_job J = { p, in, post, out, kr, bp, K, npan };
    int64_t macs = p->n * p->oh * p->ow * K * p->cout;
    tlr_parallel_for_n(p->n * p->oh, macs < ((int64_t)1 << 17) ? 1 : TLR_THREADS_MAX, rows_task,
                       &J);
    free(bp);
}

/* The kernels' post-op from a bias and a caller's post-op: the bias goes into the shift
 * (scaled with the product), so the kernels see y = x * scale + shift, then the clamp.
 * 'shift' is the caller's scratch of 'c' floats.  NULL when there is nothing to do. */
static const tlr_conv_post *merge_bias(const float *bias, const tlr_conv_post *post, int64_t c,
                                       float *shift, tlr_conv_post *out)
{
    if (!bias && !post)
        return NULL;
    *out = post ? *post : (tlr_conv_post){ .clamp = 0 };
    if (bias) {
        for (int64_t i = 0; i < c; i++) {
            float b = out->scale ? bias[i] * out->scale[i] : bias[i];
            shift[i] = out->shift ? b + out->shift[i] : b;
        }
        out->shift = shift;
    }
    return out;
}

/* The part of an activation the convolution kernels apply on their way out (a clamp);
 * *rest is set when the activation must still run afterwards. */
static void act_post(const tlr_act_params *a, tlr_conv_post *post, int *rest)
{
    *post = (tlr_conv_post){ .clamp = 0 };
    *rest = 0;
    if (!a || a->kind == TLR_ACT_LINEAR)
        return;
    if (a->kind == TLR_ACT_RELU6) {
        *post = (tlr_conv_post){ .clamp = 1, .lo = 0.0f, .hi = 6.0f };
        return;
    }
    if (a->kind == TLR_ACT_RELU && a->alpha == 0.0f && a->threshold == 0.0f) {
        /* a max_value <= 0 means none (see tlr_act_params) */
        *post = (tlr_conv_post){ .clamp = 1, .lo = 0.0f,
                                 .hi = a->max_value > 0.0f ? a->max_value : INFINITY };
        return;
    }
    *rest = 1;
}

void tlr_op_conv2d_post(const tlr_conv2d_params *p, const float *in, const float *kernel,
                        const float *bias, const tlr_conv_post *post, float *out)
{
    tlr_conv2d_params_check(p);
    int64_t groups = tlr_conv2d_groups(p);
    if (p->n * p->oh * p->ow == 0)
        return;
    /* One input channel per group is a depthwise convolution, and the Conv2D kernel
     * (kh, kw, 1, cin*dm) has exactly the depthwise layout (kh, kw, cin, dm). */
    if (groups > 1 && groups == p->cin) {
        tlr_op_depthwise_conv2d_post(p, (int)(p->cout / p->cin), in, kernel, bias, post, out);
        return;
    }
    float *shift = tlr_xmalloc((size_t)p->cout * sizeof *shift);
    tlr_conv_post merged;
    const tlr_conv_post *pp = merge_bias(bias, post, p->cout, shift, &merged);
    if (groups == 1 && tlr_kern_winograd_worth(p))
        tlr_kern_winograd_conv3x3(p, in, kernel, pp, out);
    else if (rows_direct_applies(p, groups, tlr_gemm_kernel_for_n(tlr_cpu_isa(), p->cout)->kc) &&
             tlr_kern_stem_applies(p))
        tlr_kern_stem_conv2d(p, in, kernel, pp, out);
    else if (rows_direct_applies(p, groups, tlr_gemm_kernel_for_n(tlr_cpu_isa(), p->cout)->kc))
        conv_rows_direct(p, in, kernel, pp, out);
    else
        conv_gemm(p, groups, in, kernel, pp, out);
    free(shift);
}

void tlr_op_conv2d_act(const tlr_conv2d_params *p, const float *in, const float *kernel,
                       const float *bias, const tlr_act_params *act, float *out)
{
    int rest;
    tlr_conv_post post;
    act_post(act, &post, &rest);
    tlr_op_conv2d_post(p, in, kernel, bias, post.clamp ? &post : NULL, out);
    if (rest)
        tlr_op_activation(act, out, p->n * p->oh * p->ow * p->cout, p->cout);
}

void tlr_op_conv2d(const tlr_conv2d_params *p, const float *in, const float *kernel,
                   const float *bias, float *out)
{
    tlr_op_conv2d_post(p, in, kernel, bias, NULL, out);
}

/* ---- DepthwiseConv2D ------------------------------------------------------------------- */

void tlr_op_depthwise_conv2d_ref(const tlr_conv2d_params *p, int depth_multiplier,
                                 const float *in, const float *kernel, const float *bias,
                                 float *out)
{
    tlr_conv2d_params_check(p);
    int64_t dm = depth_multiplier;
    TLR_ASSERT(dm > 0 && p->cout == p->cin * dm);
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t oy = 0; oy < p->oh; oy++)
            for (int64_t ox = 0; ox < p->ow; ox++)
                for (int64_t c = 0; c < p->cin; c++)
                    for (int64_t m = 0; m < dm; m++) {
                        double acc = bias ? (double)bias[c * dm + m] : 0.0;
                        for (int64_t ky = 0; ky < p->kh; ky++) {
                            int64_t iy = oy * p->sh - p->pad_top + ky * p->dh;
                            if (iy < 0 || iy >= p->h)
                                continue;
                            for (int64_t kx = 0; kx < p->kw; kx++) {
                                int64_t ix = ox * p->sw - p->pad_left + kx * p->dw;
                                if (ix < 0 || ix >= p->w)
                                    continue;
                                float x = in[((n * p->h + iy) * p->w + ix) * p->cin + c];
                                float k = kernel[((ky * p->kw + kx) * p->cin + c) * dm + m];
                                acc += (double)x * (double)k;
                            }
                        }
                        out[((n * p->oh + oy) * p->ow + ox) * p->cout + c * dm + m] =
                            (float)acc;
                    }
}

/* o (cin*dm) += x (cin) * k (cin, dm), one kernel tap for one output pixel. */
static void depthwise_tap(int64_t cin, int64_t dm, const float *x, const float *k, float *o)
{
    if (dm == 1) {
        for (int64_t c = 0; c < cin; c++)
            o[c] += x[c] * k[c];
        return;
    }
    for (int64_t c = 0; c < cin; c++)
        for (int64_t m = 0; m < dm; m++)
            o[c * dm + m] += x[c] * k[c * dm + m];
}

/* Channels are the contiguous inner axis of input, kernel tap and output alike, so each
 * output pixel is a sum of kh*kw elementwise vector products. */
void tlr_op_depthwise_conv2d_post(const tlr_conv2d_params *p, int depth_multiplier,
                                  const float *in, const float *kernel, const float *bias,
                                  const tlr_conv_post *post, float *out)
{
    tlr_conv2d_params_check(p);
    int64_t dm = depth_multiplier;
    TLR_ASSERT(dm > 0 && p->cout == p->cin * dm);
    if (dm == 1) {
        float *shift = tlr_xmalloc((size_t)p->cout * sizeof *shift);
        tlr_conv_post merged;
        tlr_kern_depthwise_conv2d(p, in, kernel, merge_bias(bias, post, p->cout, shift, &merged),
                                  out);
        free(shift);
        return;
    }
    tlr_op_depthwise_conv2d(p, depth_multiplier, in, kernel, bias, out);
    if (post) {
        int64_t pixels = p->n * p->oh * p->ow;
        for (int64_t i = 0; i < pixels; i++)
            for (int64_t c = 0; c < p->cout; c++)
                out[i * p->cout + c] = tlr_post_apply(post, c, i * p->cout + c, out[i * p->cout + c]);
    }
}

void tlr_op_depthwise_conv2d(const tlr_conv2d_params *p, int depth_multiplier, const float *in,
                             const float *kernel, const float *bias, float *out)
{
    tlr_conv2d_params_check(p);
    int64_t dm = depth_multiplier;
    TLR_ASSERT(dm > 0 && p->cout == p->cin * dm);
    if (dm == 1) {
        tlr_op_depthwise_conv2d_post(p, 1, in, kernel, bias, NULL, out);
        return;
    }
    fill_bias(out, p->n * p->oh * p->ow, p->cout, bias);
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t oy = 0; oy < p->oh; oy++)
            for (int64_t ox = 0; ox < p->ow; ox++) {
                float *o = out + ((n * p->oh + oy) * p->ow + ox) * p->cout;
                for (int64_t ky = 0; ky < p->kh; ky++) {
                    int64_t iy = oy * p->sh - p->pad_top + ky * p->dh;
                    if (iy < 0 || iy >= p->h)
                        continue;
                    for (int64_t kx = 0; kx < p->kw; kx++) {
                        int64_t ix = ox * p->sw - p->pad_left + kx * p->dw;
                        if (ix < 0 || ix >= p->w)
                            continue;
                        depthwise_tap(p->cin, dm, in + ((n * p->h + iy) * p->w + ix) * p->cin,
                                      kernel + (ky * p->kw + kx) * p->cout, o);
                    }
                }
            }
}

/* ---- Conv2DTranspose ------------------------------------------------------------------- */

/* Adds the columns of input pixels [pix0, pix0 + count) (flattened over (N, H, W)),
 * col (count, kh*kw*cout), into the output window: input (iy, ix) and tap (ky, kx) land on
 * full-output position (iy*sh + ky*dh, ix*sw + kx*dw), which is output row/column
 * minus (pad_top, pad_left). */
static void col2im_add(const tlr_conv2d_params *p, const float *col, int64_t pix0,
                       int64_t count, float *out)
{
    int64_t cout = p->cout;
    int64_t row_len = (int64_t)p->kh * p->kw * cout;
    for (int64_t r = 0; r < count; r++) {
        int64_t pix = pix0 + r;
        int64_t ix = pix % p->w, iy = (pix / p->w) % p->h, n = pix / (p->w * p->h);
        const float *src = col + r * row_len;
        for (int64_t ky = 0; ky < p->kh; ky++) {
            int64_t oy = iy * p->sh + ky * p->dh - p->pad_top;
            for (int64_t kx = 0; kx < p->kw; kx++, src += cout) {
                int64_t ox = ix * p->sw + kx * p->dw - p->pad_left;
                if (oy < 0 || oy >= p->oh || ox < 0 || ox >= p->ow)
                    continue;
                float *o = out + ((n * p->oh + oy) * p->ow + ox) * cout;
                for (int64_t c = 0; c < cout; c++)
                    o[c] += src[c];
            }
        }
    }
}

/* Every input pixel scatters x (cin) times the kernel, seen as the (kh*kw*cout, cin)
 * matrix, into kh*kw output positions: one GEMM per chunk of input pixels, then a
 * deterministic scatter-add in pixel order. */
void tlr_op_conv2d_transpose(const tlr_conv2d_params *p, const float *in, const float *kernel,
                             const float *bias, float *out)
{
    tlr_conv2d_params_check(p);
    TLR_ASSERT(p->groups <= 1);
    fill_bias(out, p->n * p->oh * p->ow, p->cout, bias);
    int64_t pixels = p->n * p->h * p->w;
    if (pixels == 0 || p->oh == 0 || p->ow == 0)
        return;
    int64_t row_len = (int64_t)p->kh * p->kw * p->cout;
    int64_t chunk = chunk_rows(row_len, pixels);
    float *col = tlr_xmalloc((size_t)(chunk * row_len) * sizeof *col);
    for (int64_t pix0 = 0; pix0 < pixels; pix0 += chunk) {
        int64_t count = pixels - pix0 < chunk ? pixels - pix0 : chunk;
        /* col (count, kh*kw*cout) = in (count, cin) x kernel^T */
        tlr_gemm(TLR_NO_TRANS, TLR_TRANS, count, row_len, p->cin, in + pix0 * p->cin, p->cin,
                 kernel, p->cin, 0.0f, col, row_len);
        col2im_add(p, col, pix0, count, out);
    }
    free(col);
}
