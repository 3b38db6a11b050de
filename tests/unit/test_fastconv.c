/* test_fastconv.c - every fast kernel against the plain reference loops: the GEMM register
 * kernels of each instruction set (odd sizes, transposes, accumulation, the one-row case),
 * Winograd F(4x4, 3x3) (both schedules, odd image sizes, every padding, batches, channel
 * counts that leave vector tails, fused ReLU / ReLU6), and the conv/depthwise fast paths,
 * each run on 1 and 2 threads (which must agree bit for bit). */
#include <stdlib.h>

#include "cpu.h"
#include "gemm.h"
#include "harness.h"
#include "ops.h"
#include "threads.h"
#include "winograd.h"

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

static void epilogue_ref(tlr_epilogue epi, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (epi != TLR_EPI_NONE)
            x[i] = fmaxf(x[i], 0.0f);
        if (epi == TLR_EPI_RELU6)
            x[i] = fminf(x[i], 6.0f);
    }
}

/* n images h x w x cin, pad (top, left) and output size (oh, ow) from padding after. */
static void wino_case(uint64_t *s, int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout,
                      int pt, int pb, int pl, int pr, tlr_epilogue epi, double tol)
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
    OK(tlr_winograd_applies(&p), "applies");
    int saved_threads = tlr_threads_count();
    for (int isa = 0; isa < isa_count(); isa++) {
        tlr_cpu_set_isa((tlr_isa)isa);
        for (int th = 1; th <= 2; th++) {
            tlr_threads_set_count(th);
            for (int64_t i = 0; i < no; i++)
                got[i] = 12345.0f; /* every output must be written */
            tlr_winograd_conv3x3(&p, in, k, bias, epi, got);
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
    wino_case(&s, 1, 8, 8, 16, 16, 1, 1, 1, 1, TLR_EPI_NONE, 1e-5);
    wino_case(&s, 1, 9, 11, 3, 5, 1, 1, 1, 1, TLR_EPI_NONE, 1e-5);
    wino_case(&s, 2, 13, 7, 20, 33, 0, 0, 0, 0, TLR_EPI_RELU, 1e-5);
    wino_case(&s, 1, 5, 6, 17, 40, 0, 1, 2, 0, TLR_EPI_NONE, 1e-5);
    wino_case(&s, 3, 10, 10, 64, 64, 1, 1, 1, 1, TLR_EPI_RELU6, 1e-5);
    wino_case(&s, 1, 3, 3, 8, 8, 1, 1, 1, 1, TLR_EPI_NONE, 1e-5);
    wino_case(&s, 1, 1, 1, 9, 7, 1, 1, 1, 1, TLR_EPI_NONE, 1e-5);
    wino_case(&s, 1, 37, 37, 32, 48, 1, 1, 1, 1, TLR_EPI_RELU, 1e-5);
    /* U over the fused limit: the chunked schedule, with a channel slice left over */
    wino_case(&s, 1, 9, 7, 160, 200, 1, 1, 1, 1, TLR_EPI_RELU, 1e-5);
    wino_case(&s, 2, 6, 5, 131, 257, 0, 1, 1, 0, TLR_EPI_NONE, 1e-5);
}

void test_fastconv(void)
{
    gemm_random();
    winograd_random();
}
