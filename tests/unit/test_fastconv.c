/* test_fastconv.c - every fast kernel against the plain reference loops: the GEMM register
 * kernels of each instruction set (odd sizes, transposes, accumulation, the one-row case),
 * Winograd F(4x4, 3x3) (both schedules, odd image sizes, every padding, batches, channel
 * counts that leave vector tails, fused ReLU / ReLU6), and the conv/depthwise fast paths,
 * each run on 1 and 2 threads (which must agree bit for bit). */
#include <stdlib.h>

#include "base/cpu.h"
#include "engine/gemm.h"
#include "harness.h"
#include "base/threads.h"
#include "engine/ops.h"
#include "engine/kern_winograd.h"

/* Fixed-seed LCG (Knuth's MMIX constants): uniform floats in [-1, 1). */
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

/* max |a - b| / max |scale| */
static double rel_err(const float *a, const float *b, const float *scale, int64_t n)
{
    double d = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]), v = fabs((double)scale[i]);
        d = e > d ? e : d;
        m = v > m ? v : m;
    }
    return m > 0 ? d / m : d;
}

/* Instruction sets this CPU can run, lowest first. */
static int isa_count(void)
{
    return (int)tlr_cpu_detect() + 1;
}

/* ---- GEMM ----------------------------------------------------------------------------------- */

static void gemm_case(uint64_t *s, tlr_trans ta, tlr_trans tb, int64_t m, int64_t n, int64_t k,
                      float beta, const char *what)
{
    int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
    float *a = rand_floats(s, (ta ? k : m) * lda), *b = rand_floats(s, (tb ? n : k) * ldb);
    float *c0 = rand_floats(s, m * ldc);
    float *want = malloc((size_t)(m * ldc) * sizeof *want);
    memcpy(want, c0, (size_t)(m * ldc) * sizeof *want);
    tlr_gemm_ref(ta, tb, m, n, k, a, lda, b, ldb, beta, want, ldc);
    float *first = NULL;
    int saved_threads = tlr_threads_count();
    for (int isa = 0; isa < isa_count(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        for (int th = 1; th <= 2; th++) {
            tlr_threads_set_count(th);
            float *got = malloc((size_t)(m * ldc) * sizeof *got);
            memcpy(got, c0, (size_t)(m * ldc) * sizeof *got);
            tlr_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, got, ldc);
            char msg[160];
            snprintf(msg, sizeof msg, "%s %s %d threads", what, tlr_cpu_isa_name((tlr_isa)isa), th);
            /* float sums of k terms against double ones */
            FLOATS_NEAR(got, want, (size_t)(m * ldc), 1e-6 + 1e-7 * sqrt((double)k), msg);
            /* the padding between rows of c is never written */
            int pad_ok = 1;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = n; j < ldc; j++)
                    pad_ok &= got[i * ldc + j] == c0[i * ldc + j];
            OK(pad_ok, msg);
            if (th == 1) {
                free(first);
                first = got;
            } else {
                CHECK(memcmp(first, got, (size_t)(m * ldc) * sizeof *got) == 0,
                      "%s: 1 and 2 threads differ", msg);
                free(got);
            }
        }
    }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    tlr_threads_set_count(saved_threads);
    free(first);
    free(a);
    free(b);
    free(c0);
    free(want);
}

static void gemm_random(void)
{
    uint64_t s = 7;
    static const int64_t shapes[][3] = {
        { 1, 1, 1 }, { 2, 3, 4 }, { 13, 33, 7 }, { 25, 17, 300 }, { 97, 70, 65 },
        { 130, 100, 520 }, { 1, 300, 129 }, { 1, 65, 4000 }, { 37, 1, 19 }, { 300, 40, 1 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 0; t < 4; t++) {
            char what[96];
            snprintf(what, sizeof what, "gemm %lldx%lldx%lld ta%d tb%d", (long long)shapes[i][0],
                     (long long)shapes[i][1], (long long)shapes[i][2], t & 1, t >> 1);
            gemm_case(&s, (tlr_trans)(t & 1), (tlr_trans)(t >> 1), shapes[i][0], shapes[i][1],
                      shapes[i][2], i % 2 ? 1.0f : 0.0f, what);
        }
}

/* ---- Winograd -------------------------------------------------------------------------------- */

/* Activation kinds of the tests: 0 none, 1 ReLU, 2 ReLU6. */
static tlr_conv_post clamp_post(int act)
{
    tlr_conv_post q = { .clamp = act != 0, .lo = 0.0f, .hi = act == 2 ? 6.0f : INFINITY };
    return q;
}

static void epilogue_ref(int act, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (act)
            x[i] = fmaxf(x[i], 0.0f);
        if (act == 2)
            x[i] = fminf(x[i], 6.0f);
    }
}

/* n images h x w x cin, pad (top, left) and output size (oh, ow) from padding after. */
static void wino_case(uint64_t *s, int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout,
                      int pt, int pb, int pl, int pr, int epi, double tol)
{
    tlr_conv2d_params p = { .n = n, .h = h, .w = w, .cin = cin, .cout = cout, .kh = 3, .kw = 3,
                            .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1, .pad_top = pt,
                            .pad_left = pl };
    p.oh = h + pt + pb - 2;
    p.ow = w + pl + pr - 2;
    int64_t no = n * p.oh * p.ow * cout;
    float *in = rand_floats(s, n * h * w * cin), *k = rand_floats(s, 9 * cin * cout);
    float *bias = rand_floats(s, cout);
    float *want = malloc((size_t)no * sizeof *want), *got = malloc((size_t)no * sizeof *got);
    float *first = malloc((size_t)no * sizeof *first);
    tlr_op_conv2d_ref(&p, in, k, bias, want);
    /* errors are measured against the largest output before the activation clips it */
    float *raw = malloc((size_t)no * sizeof *raw);
    memcpy(raw, want, (size_t)no * sizeof *raw);
    epilogue_ref(epi, want, no);
    OK(tlr_kern_winograd_applies(&p), "applies");
    int saved_threads = tlr_threads_count();
    for (int isa = 0; isa < isa_count(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        for (int th = 1; th <= 2; th++) {
            tlr_threads_set_count(th);
            for (int64_t i = 0; i < no; i++)
                got[i] = 12345.0f; /* every output must be written */
            tlr_conv_post post = clamp_post(epi);
            post.shift = bias; /* Winograd takes the bias as the post-op's shift */
            tlr_kern_winograd_conv3x3(&p, in, k, &post, got);
            double e = rel_err(got, want, raw, no);
            if (getenv("TLR_TEST_VERBOSE"))
                printf("winograd %lldx%lld cin %lld: %s %.3g\n", (long long)h, (long long)w,
                       (long long)cin, tlr_cpu_isa_name((tlr_isa)isa), e);
            CHECK(e <= tol, "winograd n%lld %lldx%lld cin %lld cout %lld pad %d%d%d%d epi %d %s "
                  "%d threads: rel err %.3g > %.3g", (long long)n, (long long)h, (long long)w,
                  (long long)cin, (long long)cout, pt, pb, pl, pr, (int)epi,
                  tlr_cpu_isa_name((tlr_isa)isa), th, e, tol);
            if (th == 1)
                memcpy(first, got, (size_t)no * sizeof *got);
            else
                CHECK(memcmp(first, got, (size_t)no * sizeof *got) == 0,
                      "winograd %s: 1 and 2 threads differ", tlr_cpu_isa_name((tlr_isa)isa));
        }
    }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    tlr_threads_set_count(saved_threads);
    free(in);
    free(k);
    free(bias);
    free(want);
    free(raw);
    free(got);
    free(first);
}

static void winograd_random(void)
{
    uint64_t s = 11;
    /* 'same' (1,1,1,1), 'valid' (0,0,0,0), asymmetric and ZeroPadding-like (2 before) */
    wino_case(&s, 1, 8, 8, 16, 16, 1, 1, 1, 1, 0, 1e-5);
    wino_case(&s, 1, 9, 11, 3, 5, 1, 1, 1, 1, 0, 1e-5);
    wino_case(&s, 2, 13, 7, 20, 33, 0, 0, 0, 0, 1, 1e-5);
    wino_case(&s, 1, 5, 6, 17, 40, 0, 1, 2, 0, 0, 1e-5);
    wino_case(&s, 3, 10, 10, 64, 64, 1, 1, 1, 1, 2, 1e-5);
    wino_case(&s, 1, 3, 3, 8, 8, 1, 1, 1, 1, 0, 1e-5);
    wino_case(&s, 1, 1, 1, 9, 7, 1, 1, 1, 1, 0, 1e-5);
    wino_case(&s, 1, 37, 37, 32, 48, 1, 1, 1, 1, 1, 1e-5);
    /* U over the fused limit: the chunked schedule, with a channel slice left over */
    wino_case(&s, 1, 9, 7, 160, 200, 1, 1, 1, 1, 1, 1e-5);
    wino_case(&s, 2, 6, 5, 131, 257, 0, 1, 1, 0, 0, 1e-5);
}

/* ---- Conv2D / DepthwiseConv2D through the op (dispatch to every fast path) --------------- */

static void conv_case(uint64_t *s, int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout,
                      int k, int stride, int dil, int pt, int pb, int pl, int pr, int groups,
                      int depthwise, const tlr_act_params *act)
{
    tlr_conv2d_params p = { .n = n, .h = h, .w = w, .cin = cin, .cout = cout, .kh = k, .kw = k,
                            .sh = stride, .sw = stride, .dh = dil, .dw = dil, .groups = groups,
                            .pad_top = pt, .pad_left = pl };
    int64_t span = (int64_t)(k - 1) * dil + 1;
    p.oh = (h + pt + pb - span) / stride + 1;
    p.ow = (w + pl + pr - span) / stride + 1;
    if (depthwise)
        p.cout = cin;
    int64_t no = n * p.oh * p.ow * p.cout;
    int64_t nk = (int64_t)k * k * (depthwise ? cin : cin / groups * cout);
    float *in = rand_floats(s, n * h * w * cin), *kern = rand_floats(s, nk);
    float *bias = rand_floats(s, p.cout);
    float *want = malloc((size_t)no * sizeof *want), *got = malloc((size_t)no * sizeof *got);
    float *first = malloc((size_t)no * sizeof *first);
    if (depthwise)
        tlr_op_depthwise_conv2d_ref(&p, 1, in, kern, bias, want);
    else
        tlr_op_conv2d_ref(&p, in, kern, bias, want);
    if (act)
        tlr_op_activation(act, want, no, p.cout);
    int saved_threads = tlr_threads_count();
    for (int isa = 0; isa < isa_count(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        for (int th = 1; th <= 2; th++) {
            tlr_threads_set_count(th);
            for (int64_t i = 0; i < no; i++)
                got[i] = 12345.0f;
            if (depthwise)
                tlr_op_depthwise_conv2d(&p, 1, in, kern, bias, got);
            else
                tlr_op_conv2d_act(&p, in, kern, bias, act, got);
            char msg[200];
            snprintf(msg, sizeof msg, "%s %lldx%lldx%lld->%lld k%d s%d d%d pad %d%d%d%d g%d %s %d "
                     "threads", depthwise ? "depthwise" : "conv", (long long)h, (long long)w,
                     (long long)cin, (long long)p.cout, k, stride, dil, pt, pb, pl, pr, groups,
                     tlr_cpu_isa_name((tlr_isa)isa), th);
            FLOATS_NEAR(got, want, (size_t)no, 2e-5, msg);
            if (th == 1)
                memcpy(first, got, (size_t)no * sizeof *got);
            else
                CHECK(memcmp(first, got, (size_t)no * sizeof *got) == 0, "%s: 1 and 2 threads "
                      "differ", msg);
        }
    }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    tlr_threads_set_count(saved_threads);
    free(in);
    free(kern);
    free(bias);
    free(want);
    free(got);
    free(first);
}

static void conv_paths(void)
{
    uint64_t s = 23;
    tlr_act_params relu = { TLR_ACT_RELU, 0.0f, -1.0f, 0.0f };
    tlr_act_params relu6 = { TLR_ACT_RELU6, 0.0f, -1.0f, 0.0f };
    tlr_act_params tanh_act = { TLR_ACT_TANH, 0.0f, -1.0f, 0.0f };
    /* implicit im2col: small cin (VGG's first layer), stride 2 with asymmetric padding,
     * dilation, even kernels, groups, 1x1 with and without stride */
    conv_case(&s, 1, 17, 19, 3, 20, 3, 1, 1, 1, 1, 1, 1, 1, 0, &relu);
    conv_case(&s, 2, 16, 15, 5, 33, 3, 2, 1, 0, 1, 1, 1, 1, 0, NULL);
    conv_case(&s, 1, 13, 12, 7, 9, 3, 1, 2, 2, 2, 2, 2, 1, 0, &relu6);
    conv_case(&s, 1, 9, 10, 6, 8, 4, 1, 1, 1, 2, 2, 1, 1, 0, &tanh_act);
    /* few channels, kernel rows read in place: rows wholly in the padding, wide images */
    conv_case(&s, 1, 6, 40, 3, 10, 2, 1, 1, 3, 3, 1, 1, 1, 0, &relu);
    conv_case(&s, 2, 9, 53, 4, 48, 3, 2, 1, 0, 1, 0, 1, 1, 0, &relu6);
    conv_case(&s, 1, 11, 11, 12, 18, 3, 1, 1, 1, 1, 1, 1, 3, 0, &relu);
    conv_case(&s, 2, 14, 13, 40, 70, 1, 1, 1, 0, 0, 0, 0, 1, 0, &relu6);
    conv_case(&s, 1, 14, 13, 24, 40, 1, 2, 1, 0, 0, 0, 0, 1, 0, NULL);
    /* Winograd through the op (enough channels and pixels), and the small cases it leaves
     * to the GEMM: a 2 x 2 output (a few rows: b streamed, not packed), 9 x 9 maps */
    conv_case(&s, 1, 20, 21, 32, 40, 3, 1, 1, 1, 1, 1, 1, 1, 0, &relu);
    conv_case(&s, 1, 4, 4, 40, 24, 3, 1, 1, 0, 0, 0, 0, 1, 0, &relu);
    conv_case(&s, 1, 9, 9, 48, 48, 3, 1, 1, 1, 1, 1, 1, 1, 0, NULL);
    /* depthwise: stride 1 'same', stride 2 valid after padding, dilation, channel tails */
    conv_case(&s, 1, 12, 13, 37, 37, 3, 1, 1, 1, 1, 1, 1, 1, 1, NULL);
    conv_case(&s, 2, 13, 13, 64, 64, 3, 2, 1, 0, 1, 0, 1, 1, 1, NULL);
    conv_case(&s, 1, 10, 9, 19, 19, 3, 1, 2, 2, 2, 2, 2, 1, 1, NULL);
    conv_case(&s, 1, 8, 8, 5, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, NULL);
}

/* A BatchNormalization-like post-op (scale, shift) and a clamp through every conv path,
 * against the reference conv followed by the same arithmetic. */
static void post_case(uint64_t *s, int64_t h, int64_t w, int64_t cin, int64_t cout, int k,
                      int stride, int pad, int depthwise, int act, int residual)
{
    tlr_conv2d_params p = { .n = 1, .h = h, .w = w, .cin = cin, .cout = depthwise ? cin : cout,
                            .kh = k, .kw = k, .sh = stride, .sw = stride, .dh = 1, .dw = 1,
                            .groups = 1, .pad_top = pad, .pad_left = pad };
    p.oh = (h + 2 * pad - k) / stride + 1;
    p.ow = (w + 2 * pad - k) / stride + 1;
    int64_t co = p.cout, no = p.oh * p.ow * co;
    float *in = rand_floats(s, h * w * cin);
    float *kern = rand_floats(s, (int64_t)k * k * cin * (depthwise ? 1 : co));
    float *bias = rand_floats(s, co), *scale = rand_floats(s, co), *shift = rand_floats(s, co);
    float *want = malloc((size_t)no * sizeof *want), *got = malloc((size_t)no * sizeof *got);
    float *res = residual ? rand_floats(s, no) : NULL;
    if (depthwise)
        tlr_op_depthwise_conv2d_ref(&p, 1, in, kern, bias, want);
    else
        tlr_op_conv2d_ref(&p, in, kern, bias, want);
    for (int64_t i = 0; i < no; i++)
        want[i] = want[i] * scale[i % co] + shift[i % co] + (res ? res[i] : 0.0f);
    epilogue_ref(act, want, no);
    tlr_conv_post post = clamp_post(act);
    post.scale = scale;
    post.shift = shift;
    post.residual = res;
    for (int isa = 0; isa < isa_count(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        if (depthwise)
            tlr_op_depthwise_conv2d_post(&p, 1, in, kern, bias, &post, got);
        else
            tlr_op_conv2d_post(&p, in, kern, bias, &post, got);
        char msg[160];
        snprintf(msg, sizeof msg, "post %s %lldx%lldx%lld->%lld k%d s%d act %d res %d %s",
                 depthwise ? "depthwise" : "conv", (long long)h, (long long)w, (long long)cin,
                 (long long)co, k, stride, act, residual, tlr_cpu_isa_name((tlr_isa)isa));
        FLOATS_NEAR(got, want, (size_t)no, 2e-5, msg);
    }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    free(in);
    free(kern);
    free(bias);
    free(scale);
    free(shift);
    free(want);
    free(got);
    free(res);
}

static void post_paths(void)
{
    uint64_t s = 41;
    /* each path with and without a residual branch added */
    for (int res = 0; res < 2; res++) {
        post_case(&s, 12, 13, 24, 40, 1, 1, 0, 0, 2, res);  /* pointwise GEMM, ReLU6 */
        post_case(&s, 15, 14, 5, 19, 3, 2, 1, 0, 1, res);   /* im2col GEMM, stride 2 */
        post_case(&s, 20, 19, 32, 36, 3, 1, 1, 0, 2, res);  /* Winograd */
        post_case(&s, 2, 2, 40, 24, 1, 1, 0, 0, 0, res);    /* a few rows: b streamed */
        post_case(&s, 7, 7, 300, 56, 1, 1, 0, 0, 2, res);   /* k over one GEMM slice
                                                              (MobileNetV2's 336 -> 56) */
        post_case(&s, 6, 5, 40, 33, 3, 1, 1, 0, 1, res);    /* im2col, k = 360 */
        post_case(&s, 9, 11, 24, 16, 1, 1, 0, 0, 0, res);   /* the 16-wide kernel */
        post_case(&s, 14, 15, 37, 37, 3, 1, 1, 1, 2, res);  /* depthwise */
        post_case(&s, 15, 15, 16, 16, 3, 2, 0, 1, 1, res);  /* depthwise stride 2 */
    }
}

/* ---- MaxPooling2D ------------------------------------------------------------------------ */

static void pool_case(uint64_t *s, int64_t n, int64_t h, int64_t w, int64_t c, int k, int st,
                      int pt, int pl, int64_t oh, int64_t ow, int with_nan)
{
    tlr_pool2d_params p = { .n = n, .h = h, .w = w, .c = c, .oh = oh, .ow = ow, .kh = k, .kw = k,
                            .sh = st, .sw = st, .pad_top = pt, .pad_left = pl };
    int64_t ni = n * h * w * c, no = n * oh * ow * c;
    float *in = rand_floats(s, ni);
    if (with_nan)
        for (int64_t i = 0; i < ni; i += 7)
            in[i] = NAN;
    float *want = malloc((size_t)no * sizeof *want), *got = malloc((size_t)no * sizeof *got);
    tlr_op_maxpool2d_ref(&p, in, want);
    int saved_threads = tlr_threads_count();
    for (int isa = 0; isa < isa_count(); isa++)
        for (int th = 1; th <= 2; th++) {
            tlr_cpu_set_isa((tlr_isa)isa);
            tlr_threads_set_count(th);
            tlr_op_maxpool2d(&p, in, got);
            /* bit for bit, NaN where the reference has NaN */
            int same = 1;
            for (int64_t i = 0; i < no; i++)
                same &= isnan(want[i]) ? isnan(got[i]) != 0 : got[i] == want[i];
            CHECK(same, "maxpool %lldx%lldx%lld k%d s%d pad %d,%d nan %d %s %d threads",
                  (long long)h, (long long)w, (long long)c, k, st, pt, pl, with_nan,
                  tlr_cpu_isa_name((tlr_isa)isa), th);
        }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    tlr_threads_set_count(saved_threads);
    free(in);
    free(want);
    free(got);
}

static void gap_case(uint64_t *s, int64_t n, int64_t hw, int64_t c)
{
    float *in = rand_floats(s, n * hw * c), *want = malloc((size_t)(n * c) * sizeof *want);
    float *got = malloc((size_t)(n * c) * sizeof *got);
    in[0] = NAN;
    tlr_op_global_avgpool_ref(n, hw, c, in, want);
    for (int isa = 0; isa < isa_count(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        tlr_op_global_avgpool(n, hw, c, in, got);
        int same = 1;
        for (int64_t i = 0; i < n * c; i++)
            same &= isnan(want[i]) ? isnan(got[i]) != 0 : got[i] == want[i];
        CHECK(same, "global avgpool n%lld hw %lld c %lld %s: bit for bit", (long long)n,
              (long long)hw, (long long)c, tlr_cpu_isa_name((tlr_isa)isa));
    }
    tlr_cpu_set_isa(TLR_ISA_COUNT);
    free(in);
    free(want);
    free(got);
}

static void pool_paths(void)
{
    uint64_t s = 31;
    pool_case(&s, 1, 150, 150, 64, 2, 2, 0, 0, 75, 75, 0);  /* VGG: 2 x 2 / 2 valid */
    pool_case(&s, 2, 9, 11, 13, 3, 2, 1, 1, 5, 6, 1);       /* 'same', odd, NaN */
    pool_case(&s, 1, 7, 7, 20, 3, 1, 1, 1, 7, 7, 1);        /* stride 1 'same' */
    pool_case(&s, 3, 5, 4, 3, 2, 2, 0, 0, 3, 2, 0);         /* 'same' pads after only */
    gap_case(&s, 2, 49, 1280);
    gap_case(&s, 1, 7, 13);
    gap_case(&s, 3, 1, 5);
}

void test_fastconv(void)
{
    gemm_random();
    winograd_random();
    conv_paths();
    post_paths();
    pool_paths();
}
