/* test_kernels.c - the MobileNet kernels against the reference loops, on every instruction
 * set this CPU has and on 1 and 2 threads (which must agree bit for bit):
 *   kern_stem      the few-channel direct convolution (odd sizes, strides, asymmetric
 *                  padding, kernels 1x3 to 7x7, channel tails, batches);
 *   kern_pointwise the 1x1 convolution (odd pixel counts, k up to its limit, channel tails,
 *                  a residual), also bit for bit against the GEMM it replaces;
 *   depthwise 3x3  stride 1 and 2 with the folded post-op, odd sizes;
 *   kern_mbconv    the fused inverted residual block, bit for bit against the three separate
 *                  ops where it runs its band kernels, and against the reference loops. */
#include <stdlib.h>

#include "base/cpu.h"
#include "base/threads.h"
#include "engine/gemm.h"
#include "engine/kern_mbconv.h"
#include "engine/kern_pointwise.h"
#include "engine/kern_stem.h"
#include "engine/ops.h"
#include "harness.h"

/* Fixed-seed LCG: uniform floats in [-1, 1). */
static float next_float(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)(*s >> 40) / (float)(1 << 23) - 1.0f;
}

static float *rand_floats(uint64_t *s, int64_t n)
{
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = next_float(s);
    return x;
}

/* A folded BatchNormalization (scale in [0.5, 1.5), shift in [-1, 1)) and a ReLU6 clamp. */
static tlr_conv_post bn_relu6(uint64_t *s, int64_t c, float **scale, float **shift, int clamp)
{
    *scale = rand_floats(s, c);
    *shift = rand_floats(s, c);
    for (int64_t i = 0; i < c; i++)
        (*scale)[i] = 1.0f + 0.5f * (*scale)[i];
    return (tlr_conv_post){ *scale, *shift, clamp, 0.0f, 6.0f, NULL };
}

/* The post-op on a whole (pixels, c) array, in double as the references. */
static void post_ref(const tlr_conv_post *q, float *x, int64_t pixels, int64_t c)
{
    for (int64_t i = 0; i < pixels * c; i++)
        x[i] = tlr_post_apply(q, i % c, i, x[i]);
}

/* Runs 'fn' on each instruction set and thread count; each result near 'want', and the two
 * thread counts of one set equal. */
typedef void (*run_fn)(const void *ctx, float *out);

static void each_isa_thread(run_fn fn, const void *ctx, const float *want, int64_t n, double tol,
                            const char *what)
{
    float *got = malloc((size_t)n * sizeof *got), *first = malloc((size_t)n * sizeof *first);
    int saved = tlr_threads_count();
    for (int isa = 0; isa <= (int)tlr_cpu_detect(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        for (int th = 1; th <= 2; th++) {
            tlr_threads_set_count(th);
            for (int64_t i = 0; i < n; i++)
                got[i] = 12345.0f;
            fn(ctx, got);
            char msg[240];
            snprintf(msg, sizeof msg, "%s %s %d threads", what, tlr_cpu_isa_name((tlr_isa)isa), th);
            FLOATS_NEAR(got, want, (size_t)n, tol, msg);
            if (th == 1)
                memcpy(first, got, (size_t)n * sizeof *got);
            else
                CHECK(memcmp(first, got, (size_t)n * sizeof *got) == 0,
                      "%s: 1 and 2 threads differ", msg);
        }
    }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    tlr_threads_set_count(saved);
    free(got);
    free(first);
}

/* ---- few-channel direct convolution ----------------------------------------------------- */

typedef struct {
    const tlr_conv2d_params *p;
    const float *in, *kern;
    const tlr_conv_post *post;
} conv_ctx;

static void run_conv(const void *ctx, float *out)
{
    const conv_ctx *C = ctx;
    tlr_op_conv2d_post(C->p, C->in, C->kern, NULL, C->post, out);
}

static void stem_case(uint64_t *s, int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout,
                      int kh, int kw, int stride, int pt, int pb, int pl, int pr, int residual)
{
    tlr_conv2d_params p = { .n = n, .h = h, .w = w, .cin = cin, .cout = cout, .kh = kh, .kw = kw,
                            .sh = stride, .sw = stride, .dh = 1, .dw = 1, .groups = 1,
                            .pad_top = pt, .pad_left = pl };
    p.oh = (h + pt + pb - kh) / stride + 1;
    p.ow = (w + pl + pr - kw) / stride + 1;
    int64_t pixels = n * p.oh * p.ow, no = pixels * cout;
    float *in = rand_floats(s, n * h * w * cin), *kern = rand_floats(s, kh * kw * cin * cout);
    float *scale, *shift, *want = malloc((size_t)no * sizeof *want);
    float *res = residual ? rand_floats(s, no) : NULL;
    tlr_conv_post post = bn_relu6(s, cout, &scale, &shift, 1);
    post.residual = res;
    tlr_op_conv2d_ref(&p, in, kern, NULL, want);
    post_ref(&post, want, pixels, cout);
    char what[160];
    snprintf(what, sizeof what, "stem %lldx%lldx%lldx%lld->%lld k%dx%d s%d pad %d%d%d%d res %d",
             (long long)n, (long long)h, (long long)w, (long long)cin, (long long)cout, kh, kw,
             stride, pt, pb, pl, pr, residual);
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    OK(tlr_cpu_isa() < TLR_ISA_AVX2 || tlr_kern_stem_applies(&p), what);
    conv_ctx C = { &p, in, kern, &post };
    each_isa_thread(run_conv, &C, want, no, 1e-5, what);
    free(in);
    free(kern);
    free(scale);
    free(shift);
    free(want);
    free(res);
}

static void stem_shapes(void)
{
    uint64_t s = 101;
    /* MobileNetV2's Conv1 (ZeroPadding2D ((0, 1), (0, 1)) folded, and 'same' on an odd
     * image), VGG's block1_conv1, grey images, 5x5 / 7x7 / 1x3 kernels, stride 3 */
    stem_case(&s, 1, 32, 32, 3, 16, 3, 3, 2, 0, 1, 0, 1, 0);
    stem_case(&s, 1, 33, 31, 3, 16, 3, 3, 2, 1, 1, 1, 1, 1);
    stem_case(&s, 2, 21, 40, 3, 64, 3, 3, 1, 1, 1, 1, 1, 0);
    stem_case(&s, 1, 19, 23, 1, 17, 5, 5, 1, 2, 2, 2, 2, 0);
    stem_case(&s, 1, 25, 37, 4, 33, 7, 7, 2, 3, 3, 3, 3, 1);
    stem_case(&s, 1, 12, 50, 2, 48, 1, 3, 1, 0, 0, 1, 1, 0);
    stem_case(&s, 2, 17, 29, 3, 70, 3, 3, 3, 1, 2, 0, 2, 0);
    stem_case(&s, 1, 9, 9, 8, 8, 3, 3, 1, 1, 1, 1, 1, 0);
    /* narrower than a tile, and rows wholly in the padding */
    stem_case(&s, 1, 5, 6, 3, 24, 3, 3, 1, 1, 1, 1, 1, 0);
    stem_case(&s, 1, 3, 40, 3, 16, 2, 2, 1, 3, 3, 1, 1, 1);
    stem_case(&s, 1, 4, 4, 3, 3, 3, 3, 2, 0, 1, 0, 1, 0);
}

/* ---- 1x1 convolution ------------------------------------------------------------------------- */

typedef struct {
    int64_t pixels, k, n;
    const float *in, *w;
    const tlr_conv_post *post;
} pw_ctx;

static void run_pointwise(const void *ctx, float *out)
{
    const pw_ctx *C = ctx;
    if (tlr_kern_pointwise_applies(C->pixels, C->k))
        tlr_kern_pointwise(C->pixels, C->k, C->n, C->in, C->k, C->w, C->n, C->post, out, C->n);
    else
        tlr_gemm_rows(C->pixels, C->n, C->k, C->in, C->k, TLR_NO_TRANS, C->w, C->n, 0.0f, out,
                      C->n, C->post);
}

static void pointwise_case(uint64_t *s, int64_t pixels, int64_t k, int64_t n, int clamp,
                           int residual)
{
    float *in = rand_floats(s, pixels * k), *w = rand_floats(s, k * n), *scale, *shift;
    float *res = residual ? rand_floats(s, pixels * n) : NULL;
    float *want = malloc((size_t)(pixels * n) * sizeof *want);
    float *gemm = malloc((size_t)(pixels * n) * sizeof *gemm);
    float *got = malloc((size_t)(pixels * n) * sizeof *got);
    tlr_conv_post post = bn_relu6(s, n, &scale, &shift, clamp);
    post.residual = res;
    tlr_gemm_ref(TLR_NO_TRANS, TLR_NO_TRANS, pixels, n, k, in, k, w, n, 0.0f, want, n);
    post_ref(&post, want, pixels, n);
    char what[160];
    snprintf(what, sizeof what, "pointwise %lld x %lld -> %lld clamp %d res %d",
             (long long)pixels, (long long)k, (long long)n, clamp, residual);
    pw_ctx C = { pixels, k, n, in, w, &post };
    each_isa_thread(run_pointwise, &C, want, pixels * n, 1e-5, what);
    /* the same sums as the GEMM path, on each set that has the kernel */
    for (int isa = TLR_ISA_AVX2; isa <= (int)tlr_cpu_detect(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        if (!tlr_kern_pointwise_applies(pixels, k))
            continue;
        tlr_gemm_rows(pixels, n, k, in, k, TLR_NO_TRANS, w, n, 0.0f, gemm, n, &post);
        tlr_kern_pointwise(pixels, k, n, in, k, w, n, &post, got, n);
        CHECK(memcmp(gemm, got, (size_t)(pixels * n) * sizeof *got) == 0,
              "%s %s: not the GEMM's sums", what, tlr_cpu_isa_name((tlr_isa)isa));
    }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    free(in);
    free(w);
    free(scale);
    free(shift);
    free(res);
    free(want);
    free(gemm);
    free(got);
}

static void pointwise_shapes(void)
{
    uint64_t s = 202;
    /* MobileNetV2's expand / project / Conv_1 shapes at small sizes, and odd ones: pixel
     * counts that leave short tiles, channel counts that leave vector tails and chunks */
    pointwise_case(&s, 113, 8, 48, 1, 0);
    pointwise_case(&s, 49, 56, 336, 1, 0);
    pointwise_case(&s, 49, 112, 1280, 1, 0);
    pointwise_case(&s, 196, 144, 24, 0, 1);
    pointwise_case(&s, 5, 3, 1, 1, 0);
    /* deeper than the GEMM's slice of 256: the slices added as the GEMM adds them */
    pointwise_case(&s, 49, 336, 112, 0, 1);
    pointwise_case(&s, 37, 600, 40, 1, 0);
    pointwise_case(&s, 7, 256, 65, 0, 1);
    pointwise_case(&s, 301, 17, 97, 1, 1);
    pointwise_case(&s, 50, 1, 129, 1, 0);
    pointwise_case(&s, 4, 16, 40, 1, 0); /* a few rows: the GEMM's streaming path */
    pointwise_case(&s, 20, 300, 40, 1, 0); /* over the kernel's k: the GEMM */
}

/* ---- depthwise 3x3 with the folded post-op ------------------------------------------------ */

static void run_depthwise(const void *ctx, float *out)
{
    const conv_ctx *C = ctx;
    tlr_op_depthwise_conv2d_post(C->p, 1, C->in, C->kern, NULL, C->post, out);
}

static void depthwise_case(uint64_t *s, int64_t n, int64_t h, int64_t w, int64_t c, int stride,
                           int pt, int pb, int pl, int pr)
{
    tlr_conv2d_params p = { .n = n, .h = h, .w = w, .cin = c, .cout = c, .kh = 3, .kw = 3,
                            .sh = stride, .sw = stride, .dh = 1, .dw = 1, .groups = 1,
                            .pad_top = pt, .pad_left = pl };
    p.oh = (h + pt + pb - 3) / stride + 1;
    p.ow = (w + pl + pr - 3) / stride + 1;
    int64_t pixels = n * p.oh * p.ow;
    float *in = rand_floats(s, n * h * w * c), *kern = rand_floats(s, 9 * c), *scale, *shift;
    float *want = malloc((size_t)(pixels * c) * sizeof *want);
    tlr_conv_post post = bn_relu6(s, c, &scale, &shift, 1);
    tlr_op_depthwise_conv2d_ref(&p, 1, in, kern, NULL, want);
    post_ref(&post, want, pixels, c);
    char what[160];
    snprintf(what, sizeof what, "depthwise %lldx%lldx%lldx%lld s%d pad %d%d%d%d", (long long)n,
             (long long)h, (long long)w, (long long)c, stride, pt, pb, pl, pr);
    conv_ctx C = { &p, in, kern, &post };
    each_isa_thread(run_depthwise, &C, want, pixels * c, 1e-5, what);
    free(in);
    free(kern);
    free(scale);
    free(shift);
    free(want);
}

static void depthwise_shapes(void)
{
    uint64_t s = 303;
    depthwise_case(&s, 1, 23, 21, 48, 1, 1, 1, 1, 1);
    depthwise_case(&s, 1, 24, 22, 48, 2, 0, 1, 0, 1);
    depthwise_case(&s, 2, 15, 17, 19, 2, 1, 1, 1, 1);
    depthwise_case(&s, 1, 7, 7, 336, 1, 1, 1, 1, 1);
    depthwise_case(&s, 1, 3, 2, 9, 1, 1, 1, 1, 1);
    depthwise_case(&s, 1, 40, 9, 16, 2, 1, 0, 1, 0);
}

/* ---- fused inverted residual block ------------------------------------------------------- */

typedef struct {
    const tlr_mbconv_params *m;
    const float *x;
} mb_ctx;

static void run_mbconv(const void *ctx, float *out)
{
    const mb_ctx *C = ctx;
    tlr_kern_mbconv(C->m, C->x, out);
}

/* The three ops one after the other (reference loops when 'ref'); the post-ops' scales and
 * shifts as in m. */
static void mbconv_separate(const tlr_mbconv_params *m, const float *x, int ref, float *y)
{
    int64_t pix_in = m->n * m->h * m->w, pix_out = m->n * m->oh * m->ow;
    float *e = malloc((size_t)(pix_in * m->cexp) * sizeof *e);
    float *d = malloc((size_t)(pix_out * m->cexp) * sizeof *d);
    tlr_conv2d_params pe = { .n = m->n, .h = m->h, .w = m->w, .cin = m->cin, .oh = m->h,
                             .ow = m->w, .cout = m->cexp, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                             .dh = 1, .dw = 1, .groups = 1 };
    tlr_conv2d_params pd = { .n = m->n, .h = m->h, .w = m->w, .cin = m->cexp, .oh = m->oh,
                             .ow = m->ow, .cout = m->cexp, .kh = 3, .kw = 3, .sh = m->stride,
                             .sw = m->stride, .dh = 1, .dw = 1, .pad_top = m->pad_top,
                             .pad_left = m->pad_left, .groups = 1 };
    tlr_conv2d_params pp = { .n = m->n, .h = m->oh, .w = m->ow, .cin = m->cexp, .oh = m->oh,
                             .ow = m->ow, .cout = m->cout, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                             .dh = 1, .dw = 1, .groups = 1 };
    if (!m->expand)
        memcpy(e, x, (size_t)(pix_in * m->cin) * sizeof *e);
    if (ref) {
        if (m->expand) {
            tlr_op_conv2d_ref(&pe, x, m->expand, NULL, e);
            post_ref(&m->expand_post, e, pix_in, m->cexp);
        }
        tlr_op_depthwise_conv2d_ref(&pd, 1, e, m->depthwise, NULL, d);
        post_ref(&m->depthwise_post, d, pix_out, m->cexp);
        tlr_op_conv2d_ref(&pp, d, m->project, NULL, y);
        post_ref(&m->project_post, y, pix_out, m->cout);
    } else {
        if (m->expand)
            tlr_op_conv2d_post(&pe, x, m->expand, NULL, &m->expand_post, e);
        tlr_op_depthwise_conv2d_post(&pd, 1, e, m->depthwise, NULL, &m->depthwise_post, d);
        tlr_op_conv2d_post(&pp, d, m->project, NULL, &m->project_post, y);
    }
    free(e);
    free(d);
}

static void mbconv_case(uint64_t *s, int64_t n, int64_t h, int64_t w, int64_t cin, int64_t t,
                        int64_t cout, int stride)
{
    tlr_mbconv_params m = { .n = n, .h = h, .w = w, .cin = cin, .cexp = cin * t, .cout = cout,
                            .stride = stride };
    if (stride == 1) { /* 'same' */
        m.pad_top = m.pad_left = 1;
        m.oh = h;
        m.ow = w;
    } else { /* a ZeroPadding2D ((0, 1), (0, 1)) before a 'valid' one, as MobileNetV2 */
        m.oh = (h + 1 - 3) / 2 + 1;
        m.ow = (w + 1 - 3) / 2 + 1;
    }
    float *x = rand_floats(s, n * h * w * cin), *sc[3], *sh[3];
    float *we = t > 1 ? rand_floats(s, cin * m.cexp) : NULL, *wd = rand_floats(s, 9 * m.cexp);
    float *wp = rand_floats(s, m.cexp * cout);
    int64_t no = n * m.oh * m.ow * cout;
    int residual = stride == 1 && cin == cout;
    float *res = residual ? rand_floats(s, no) : NULL;
    m.expand = we;
    m.expand_post = bn_relu6(s, m.cexp, &sc[0], &sh[0], 1);
    m.depthwise = wd;
    m.depthwise_post = bn_relu6(s, m.cexp, &sc[1], &sh[1], 1);
    m.project = wp;
    m.project_post = bn_relu6(s, cout, &sc[2], &sh[2], 0);
    m.project_post.residual = res;
    float *want = malloc((size_t)no * sizeof *want), *sep = malloc((size_t)no * sizeof *sep);
    float *got = malloc((size_t)no * sizeof *got);
    mbconv_separate(&m, x, 1, want);
    char what[160];
    snprintf(what, sizeof what, "mbconv %lldx%lldx%lldx%lld t%lld -> %lld s%d", (long long)n,
             (long long)h, (long long)w, (long long)cin, (long long)t, (long long)cout, stride);
    mb_ctx C = { &m, x };
    each_isa_thread(run_mbconv, &C, want, no, 1e-5, what);
    /* the separate ops' numbers exactly, where the band kernels run */
    for (int isa = TLR_ISA_AVX2; isa <= (int)tlr_cpu_detect(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        mbconv_separate(&m, x, 0, sep);
        tlr_kern_mbconv(&m, x, got);
        CHECK(memcmp(sep, got, (size_t)no * sizeof *got) == 0, "%s %s: not the separate ops' "
              "numbers", what, tlr_cpu_isa_name((tlr_isa)isa));
    }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    for (int i = 0; i < 3; i++) {
        free(sc[i]);
        free(sh[i]);
    }
    free(x);
    free(we);
    free(wd);
    free(wp);
    free(res);
    free(want);
    free(sep);
    free(got);
}

static void mbconv_shapes(void)
{
    uint64_t s = 404;
    /* MobileNetV2's blocks at small sizes: the first (no expand), stride 2 after the
     * padding, residual blocks; odd sizes, a batch of two, maps too small for bands */
    mbconv_case(&s, 1, 24, 24, 16, 1, 8, 1);
    mbconv_case(&s, 1, 24, 24, 8, 6, 8, 2);
    mbconv_case(&s, 2, 13, 11, 8, 6, 8, 1);
    mbconv_case(&s, 1, 28, 27, 16, 6, 24, 2);
    mbconv_case(&s, 1, 7, 7, 56, 6, 56, 1);
    mbconv_case(&s, 1, 9, 40, 5, 3, 7, 2);
    mbconv_case(&s, 1, 4, 4, 8, 6, 8, 1);
    mbconv_case(&s, 1, 7, 7, 56, 6, 112, 1); /* expanded channels over the GEMM's slice */
    mbconv_case(&s, 1, 7, 7, 112, 10, 40, 1); /* over kern_pointwise's k: the separate ops */
}

void test_kernels(void)
{
    stem_shapes();
    pointwise_shapes();
    depthwise_shapes();
    mbconv_shapes();
}
