/* test_grad_ops.c - the input gradients of grad.h, by expectations that do not come from
 * the code under test:
 *   - linear ops: the adjoint identity <dy, op(x)> = <grad(dy), x> in double, with the
 *     forward op (its plain _ref loop where there is one) on random x and dy;
 *   - the fast conv gradient against its plain scatter loop over many shapes;
 *   - nonlinear ops: central differences of double-precision forward formulas written
 *     here, and derivatives worked out by hand at chosen points. */
#include <stdlib.h>

#include "harness.h"
#include "base/tensor.h"
#include "engine/grad.h"
#include "engine/ops.h"

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

static float *zeros(int64_t n)
{
    return calloc((size_t)(n > 0 ? n : 1), sizeof(float));
}

/* <a, b> in double, and the sum of |a_i b_i|: the scale its rounding error is measured by. */
static double dot(const float *a, const float *b, int64_t n, double *abs_sum)
{
    double s = 0.0, m = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)a[i] * (double)b[i];
        s += t;
        m += fabs(t);
    }
    if (abs_sum)
        *abs_sum = m;
    return s;
}

/* The adjoint identity <dy, y> = <dx, x>: difference over the larger absolute-product sum
 * (the cancellation-free scale of both sides) at most 1e-5. */
static void adjoint_ok(const float *dy, const float *y, int64_t ny, const float *dx,
                       const float *x, int64_t nx, const char *what)
{
    double sy, sx;
    double lhs = dot(dy, y, ny, &sy), rhs = dot(dx, x, nx, &sx);
    double scale = sy > sx ? sy : sx;
    double rel = scale > 0 ? fabs(lhs - rhs) / scale : fabs(lhs - rhs);
    CHECK(rel <= 1e-5, "%s: adjoint <dy, op(x)> = %.9g, <grad(dy), x> = %.9g (rel %.3g)", what,
          lhs, rhs, rel);
}

/* max |a - b| / max |b| */
static double rel_err(const float *a, const float *b, int64_t n)
{
    double d = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]), v = fabs((double)b[i]);
        d = e > d ? e : d;
        m = v > m ? v : m;
    }
    return m > 0 ? d / m : d;
}

/* ---- convolutions ------------------------------------------------------------------------ */

/* One Conv2D shape; 'same' is TensorFlow's: out = ceil(in / s), the padding total split with
 * the odd cell after; else 'valid' with explicit extra padding before (pad_extra). */
typedef struct {
    int64_t n, h, w, cin, cout;
    int kh, kw, sh, sw, dh, dw, groups, same;
    int pad_extra;
} conv_case;

static void axis_geometry(int64_t in, int k, int s, int d, int same, int extra, int64_t *out,
                          int *pad)
{
    int64_t reach = (int64_t)(k - 1) * d + 1;
    if (same) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + reach - in;
        *pad = (int)(total > 0 ? total / 2 : 0);
        return;
    }
    /* explicit padding 'extra' before and after, then valid */
    int64_t padded = in + 2 * extra;
    *out = padded >= reach ? (padded - reach) / s + 1 : 0;
    *pad = extra;
}

static tlr_conv2d_params conv_params(const conv_case *c)
{
    tlr_conv2d_params p = { .n = c->n, .h = c->h, .w = c->w, .cin = c->cin, .cout = c->cout,
                            .kh = c->kh, .kw = c->kw, .sh = c->sh, .sw = c->sw, .dh = c->dh,
                            .dw = c->dw, .groups = c->groups };
    axis_geometry(c->h, c->kh, c->sh, c->dh, c->same, c->pad_extra, &p.oh, &p.pad_top);
    axis_geometry(c->w, c->kw, c->sw, c->dw, c->same, c->pad_extra, &p.ow, &p.pad_left);
    return p;
}

static const conv_case CONV_CASES[] = {
    /* n  h   w  cin cout kh kw sh sw dh dw g same extra */
    { 1, 7, 7, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 0 },    /* 'same' 3x3, RGB */
    { 2, 9, 8, 5, 6, 3, 3, 1, 1, 1, 1, 1, 0, 0 },    /* 'valid', batch */
    { 1, 20, 19, 16, 24, 3, 3, 1, 1, 1, 1, 1, 1, 0 }, /* Winograd-sized */
    { 1, 8, 8, 6, 5, 5, 3, 1, 1, 1, 1, 1, 1, 0 },    /* 5x3 kernel, 'same' */
    { 1, 8, 8, 6, 5, 4, 4, 1, 1, 1, 1, 1, 1, 0 },    /* even kernel: asymmetric 'same' */
    { 1, 10, 10, 4, 6, 3, 3, 2, 2, 1, 1, 1, 1, 0 },  /* stride 2, even size: pad after only */
    { 1, 11, 9, 4, 6, 3, 3, 2, 2, 1, 1, 1, 1, 0 },   /* stride 2, odd sizes */
    { 1, 11, 9, 4, 6, 3, 3, 2, 2, 1, 1, 1, 0, 0 },   /* stride 2 'valid', odd sizes */
    { 1, 12, 12, 3, 8, 7, 7, 2, 2, 1, 1, 1, 1, 0 },  /* a ResNet-like stem */
    { 1, 13, 12, 4, 5, 3, 3, 1, 1, 2, 2, 1, 1, 0 },  /* dilation 2 */
    { 1, 13, 12, 4, 5, 3, 2, 1, 1, 2, 3, 1, 0, 0 },  /* dilation 2 x 3, 'valid' */
    { 1, 9, 9, 4, 6, 3, 3, 1, 1, 1, 1, 2, 1, 0 },    /* groups 2 */
    { 1, 9, 9, 4, 6, 3, 3, 2, 2, 1, 1, 2, 1, 0 },    /* groups 2, stride 2 */
    { 1, 9, 9, 6, 3, 3, 3, 1, 1, 1, 1, 3, 1, 0 },    /* groups == cout */
    { 1, 9, 9, 3, 6, 3, 3, 1, 1, 1, 1, 3, 1, 0 },    /* groups == cin: depthwise, dm 2 */
    { 1, 9, 9, 4, 4, 3, 3, 2, 1, 1, 1, 4, 1, 0 },    /* depthwise route, stride (2, 1) */
    { 2, 6, 5, 7, 9, 1, 1, 1, 1, 1, 1, 1, 0, 0 },    /* pointwise */
    { 1, 7, 7, 5, 6, 1, 1, 2, 2, 1, 1, 1, 0, 0 },    /* 1x1 stride 2 */
    { 1, 6, 7, 3, 4, 3, 3, 1, 1, 1, 1, 1, 0, 3 },    /* padding past the kernel's reach */
    { 1, 5, 5, 2, 3, 3, 3, 3, 2, 1, 1, 1, 0, 1 },    /* stride 3 x 2, explicit padding */
    { 1, 2, 2, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 0 },    /* kernel larger than the image */
};

#define N_CONV_CASES ((int)(sizeof CONV_CASES / sizeof CONV_CASES[0]))

static void conv_adjoint_case(const conv_case *c, uint64_t *seed)
{
    tlr_conv2d_params p = conv_params(c);
    int64_t nx = p.n * p.h * p.w * p.cin, ny = p.n * p.oh * p.ow * p.cout;
    int64_t nk = (int64_t)p.kh * p.kw * (p.cin / p.groups) * p.cout;
    float *x = rand_floats(seed, nx), *k = rand_floats(seed, nk), *dy = rand_floats(seed, ny);
    float *y = zeros(ny), *dx = zeros(nx), *dx_ref = zeros(nx);
    tlr_op_conv2d_ref(&p, x, k, NULL, y);
    tlr_grad_conv2d(&p, dy, k, dx);
    tlr_grad_conv2d_ref(&p, dy, k, dx_ref);
    char what[160];
    snprintf(what, sizeof what, "conv2d %lldx%lld cin %lld cout %lld k %dx%d s %dx%d d %dx%d g %d %s",
             (long long)p.h, (long long)p.w, (long long)p.cin, (long long)p.cout, p.kh, p.kw,
             p.sh, p.sw, p.dh, p.dw, p.groups, c->same ? "same" : "valid");
    adjoint_ok(dy, y, ny, dx, x, nx, what);
    adjoint_ok(dy, y, ny, dx_ref, x, nx, what);
    double e = rel_err(dx, dx_ref, nx);
    CHECK(e <= 1e-4, "%s: fast vs reference rel %.3g", what, e);
    free(x), free(k), free(dy), free(y), free(dx), free(dx_ref);
}

/* The flipped kernel given by the caller gives the same result as the one made inside. */
static void conv_prepared(uint64_t *seed)
{
    conv_case c = { 1, 10, 9, 6, 4, 3, 3, 1, 1, 1, 1, 2, 1, 0 };
    tlr_conv2d_params p = conv_params(&c);
    int64_t nx = p.n * p.h * p.w * p.cin, ny = p.n * p.oh * p.ow * p.cout;
    float *k = rand_floats(seed, (int64_t)9 * 3 * 4), *dy = rand_floats(seed, ny);
    float *a = zeros(nx), *b = zeros(nx);
    float *f = tlr_grad_conv2d_kernel(&p, k);
    /* flipped[ky', kx', co, g*cin_g + ci] = kernel[2-ky', 2-kx', ci, g*cout_g + co] */
    NEAR(f[((0 * 3 + 1) * 2 + 1) * 6 + 3 + 2], k[((2 * 3 + 1) * 3 + 2) * 4 + 2 + 1], 0,
         "flipped kernel layout");
    tlr_grad_conv2d_prepared(&p, dy, k, f, a);
    tlr_grad_conv2d(&p, dy, k, b);
    CHECK(memcmp(a, b, (size_t)nx * sizeof *a) == 0, "prepared kernel: same dx");
    free(f), free(k), free(dy), free(a), free(b);
}

/* Fast vs reference over a sweep of random shapes. */
static void conv_fast_vs_ref(uint64_t *seed)
{
    int bad = 0, runs = 0;
    for (int i = 0; i < 120; i++) {
        uint64_t r = (uint64_t)(next_float(seed) * 1e6f + 1e6f);
        conv_case c = { 1 + (int64_t)(r % 2), 3 + (int64_t)(r / 2 % 12), 3 + (int64_t)(r / 24 % 12),
                        0, 0, 1 + (int)(r / 288 % 5), 1 + (int)(r / 1440 % 4),
                        1 + (int)(r / 5760 % 3), 1 + (int)(r / 17280 % 2), 1 + (int)(r / 34560 % 2),
                        1, 1 + (int)(r / 69120 % 2), (int)(r / 138240 % 2), 0 };
        c.dw = c.dh;
        int g = c.groups;
        c.cin = g * (1 + (int64_t)(r / 7 % 5));
        c.cout = g * (1 + (int64_t)(r / 11 % 6));
        tlr_conv2d_params p = conv_params(&c);
        if (p.oh <= 0 || p.ow <= 0)
            continue;
        int64_t nx = p.n * p.h * p.w * p.cin, ny = p.n * p.oh * p.ow * p.cout;
        float *k = rand_floats(seed, (int64_t)p.kh * p.kw * (p.cin / g) * p.cout);
        float *dy = rand_floats(seed, ny), *a = zeros(nx), *b = zeros(nx);
        tlr_grad_conv2d(&p, dy, k, a);
        tlr_grad_conv2d_ref(&p, dy, k, b);
        runs++;
        if (rel_err(a, b, nx) > 1e-4)
            bad++;
        free(k), free(dy), free(a), free(b);
    }
    CHECK(bad == 0 && runs > 60, "conv2d fast vs reference: %d of %d shapes off", bad, runs);
}

static void depthwise_adjoint(uint64_t *seed)
{
    static const conv_case cases[] = {
        { 1, 9, 9, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 0 },
        { 2, 10, 9, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 0 }, /* dm 2 */
        { 1, 10, 10, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 0 },
        { 1, 11, 9, 3, 9, 5, 5, 2, 2, 1, 1, 1, 1, 0 }, /* dm 3, stride 2, odd */
        { 1, 12, 12, 4, 4, 3, 3, 1, 1, 2, 2, 1, 1, 0 },
        { 1, 7, 8, 4, 4, 3, 3, 1, 1, 1, 1, 1, 0, 2 },  /* padding past the reach */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlr_conv2d_params p = conv_params(&cases[i]);
        int dm = (int)(p.cout / p.cin);
        int64_t nx = p.n * p.h * p.w * p.cin, ny = p.n * p.oh * p.ow * p.cout;
        float *x = rand_floats(seed, nx), *k = rand_floats(seed, (int64_t)p.kh * p.kw * p.cout);
        float *dy = rand_floats(seed, ny), *y = zeros(ny), *dx = zeros(nx);
        tlr_op_depthwise_conv2d_ref(&p, dm, x, k, NULL, y);
        tlr_grad_depthwise_conv2d(&p, dm, dy, k, dx);
        char what[96];
        snprintf(what, sizeof what, "depthwise case %zu (dm %d, stride %d)", i, dm, p.sh);
        adjoint_ok(dy, y, ny, dx, x, nx, what);
        free(x), free(k), free(dy), free(y), free(dx);
    }
}

static void transpose_conv_adjoint(uint64_t *seed)
{
    /* h w cin cout k s d pad_top pad_left oh ow (full size (h-1)*s + (k-1)*d + 1) */
    static const int cases[][11] = {
        { 4, 5, 3, 2, 3, 2, 1, 1, 1, 8, 10 },  /* 'same' stride 2: full 9 x 11 cropped */
        { 5, 4, 4, 3, 3, 1, 1, 0, 0, 7, 6 },   /* 'valid' stride 1 */
        { 3, 3, 2, 5, 4, 2, 1, 1, 1, 6, 6 },   /* even kernel */
        { 3, 4, 3, 3, 3, 2, 2, 0, 0, 9, 12 },  /* dilation 2, output_padding past the edge */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        tlr_conv2d_params p = { .n = 1, .h = c[0], .w = c[1], .cin = c[2], .cout = c[3],
                                .kh = c[4], .kw = c[4], .sh = c[5], .sw = c[5], .dh = c[6],
                                .dw = c[6], .pad_top = c[7], .pad_left = c[8], .oh = c[9],
                                .ow = c[10], .groups = 1 };
        int64_t nx = p.h * p.w * p.cin, ny = p.oh * p.ow * p.cout;
        float *x = rand_floats(seed, nx), *k = rand_floats(seed, (int64_t)c[4] * c[4] * c[2] * c[3]);
        float *dy = rand_floats(seed, ny), *y = zeros(ny), *dx = zeros(nx);
        tlr_op_conv2d_transpose(&p, x, k, NULL, y);
        tlr_grad_conv2d_transpose(&p, dy, k, dx);
        char what[64];
        snprintf(what, sizeof what, "conv2d_transpose case %zu", i);
        adjoint_ok(dy, y, ny, dx, x, nx, what);
        free(x), free(k), free(dy), free(y), free(dx);
    }
}

static void dense_adjoint(uint64_t *seed)
{
    static const int64_t cases[][3] = { { 1, 7, 5 }, { 3, 33, 17 }, { 5, 128, 10 }, { 2, 1, 9 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t rows = cases[i][0], nin = cases[i][1], nout = cases[i][2];
        float *x = rand_floats(seed, rows * nin), *k = rand_floats(seed, nin * nout);
        float *dy = rand_floats(seed, rows * nout), *y = zeros(rows * nout), *dx = zeros(rows * nin);
        tlr_op_dense_ref(rows, nin, nout, x, k, NULL, y);
        tlr_grad_dense(rows, nin, nout, dy, k, dx);
        char what[64];
        snprintf(what, sizeof what, "dense %lld x %lld -> %lld", (long long)rows,
                 (long long)nin, (long long)nout);
        adjoint_ok(dy, y, rows * nout, dx, x, rows * nin, what);
        free(x), free(k), free(dy), free(y), free(dx);
    }
    /* by hand: x (1, 2), W = [[1, 2, 3], [4, 5, 6]], dy = (1, 0, -1) -> dx = (1-3, 4-6) */
    const float w[6] = { 1, 2, 3, 4, 5, 6 }, d[3] = { 1, 0, -1 };
    float g[2];
    tlr_grad_dense(1, 2, 3, d, w, g);
    OK(g[0] == -2.0f && g[1] == -2.0f, "dense gradient by hand");
}

static void conv_grads(void)
{
    uint64_t seed = 12345;
    for (int i = 0; i < N_CONV_CASES; i++)
        conv_adjoint_case(&CONV_CASES[i], &seed);
    conv_prepared(&seed);
    conv_fast_vs_ref(&seed);
    depthwise_adjoint(&seed);
    transpose_conv_adjoint(&seed);
    dense_adjoint(&seed);
}

/* ---- pooling -------------------------------------------------------------------------- */

/* A 4x4 one-channel image with ties: 3 at (0,1) and (1,0), 2 three times, 5 three times. */
static const float POOL_X[16] = { 1, 3, 2, 2,
                                  3, 0, 1, 2,
                                  5, 5, -1, -4,
                                  5, 6, -2, -3 };

static void maxpool_routing(void)
{
    /* 2x2 stride 2: window maxima at (0,1) (the first 3), (0,2) (the first 2), (3,1), (2,2) */
    tlr_pool2d_params p = { .n = 1, .h = 4, .w = 4, .c = 1, .oh = 2, .ow = 2, .kh = 2, .kw = 2,
                            .sh = 2, .sw = 2 };
    const float dy[4] = { 10, 20, 30, 40 };
    float dx[16];
    tlr_grad_maxpool2d(&p, POOL_X, dy, dx);
    const float want[16] = { 0, 10, 20, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 30, 0, 0 };
    CHECK(memcmp(dx, want, sizeof want) == 0, "maxpool 2x2/2 routes to the first maximum");

    /* 3x3 stride 2 'same' (pad after only): windows rows/cols [0,3) and [2,4); maxima
     * (2,0) (first of three 5s), (0,2), (3,1), (2,2) */
    tlr_pool2d_params q = p;
    q.kh = q.kw = 3;
    const float dy2[4] = { 1, 2, 3, 4 };
    tlr_grad_maxpool2d(&q, POOL_X, dy2, dx);
    const float want2[16] = { 0, 0, 2, 0, 0, 0, 0, 0, 1, 0, 4, 0, 0, 3, 0, 0 };
    CHECK(memcmp(dx, want2, sizeof want2) == 0, "maxpool 3x3/2 'same' routing");

    /* overlapping windows add up: 3x3 stride 1 'valid' on 4x4 gives 2x2 windows whose
     * maxima are (2,0) and (2,1) (both 5, each its window's first) above and (3,1) = 6 for
     * both lower ones */
    tlr_pool2d_params r = q;
    r.sh = r.sw = 1;
    tlr_grad_maxpool2d(&r, POOL_X, dy2, dx);
    const float want3[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 7, 0, 0 };
    CHECK(memcmp(dx, want3, sizeof want3) == 0, "maxpool overlapping windows accumulate");

    /* two channels route independently; channel 1 is the negated image */
    float x2[32], dxx[32];
    for (int i = 0; i < 16; i++) {
        x2[2 * i] = POOL_X[i];
        x2[2 * i + 1] = -POOL_X[i];
    }
    tlr_pool2d_params p2 = p;
    p2.c = 2;
    const float dyc[8] = { 1, -1, 1, -1, 1, -1, 1, -1 };
    tlr_grad_maxpool2d(&p2, x2, dyc, dxx);
    /* channel 1 maxima (minima of the image): (1,1) 0, (1,2) 1, (2,0) -5 first, (2,3) -4 */
    OK(dxx[2 * 5 + 1] == -1 && dxx[2 * 6 + 1] == -1 && dxx[2 * 8 + 1] == -1 &&
       dxx[2 * 11 + 1] == -1 && dxx[2 * 1] == 1 && dxx[2 * 13] == 1, "maxpool per channel");
}

static void global_max_routing(void)
{
    /* (1, 4 pixels, 2 channels): channel 0 ties at pixels 1 and 3, channel 1 max at 0 */
    const float x[8] = { 0, 9, 4, 1, -2, 3, 4, 8 }, dy[2] = { 5, 7 };
    float dx[8];
    tlr_grad_global_maxpool(1, 4, 2, x, dy, dx);
    const float want[8] = { 0, 7, 5, 0, 0, 0, 0, 0 };
    CHECK(memcmp(dx, want, sizeof want) == 0, "global max pool routes to the first maximum");
}

static void avgpool_adjoint(uint64_t *seed)
{
    /* h w c k s pad_top pad_left oh ow */
    static const int cases[][9] = {
        { 4, 4, 1, 2, 2, 0, 0, 2, 2 },
        { 7, 6, 3, 3, 2, 1, 0, 4, 3 },  /* 'same': corner windows hold fewer real cells */
        { 5, 5, 2, 3, 1, 1, 1, 5, 5 },  /* 3x3 stride 1 'same', overlapping */
        { 9, 8, 2, 2, 3, 0, 0, 3, 3 },  /* stride past the window: cells left out */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        tlr_pool2d_params p = { .n = 2, .h = c[0], .w = c[1], .c = c[2], .kh = c[3], .kw = c[3],
                                .sh = c[4], .sw = c[4], .pad_top = c[5], .pad_left = c[6],
                                .oh = c[7], .ow = c[8] };
        int64_t nx = p.n * p.h * p.w * p.c, ny = p.n * p.oh * p.ow * p.c;
        float *x = rand_floats(seed, nx), *dy = rand_floats(seed, ny);
        float *y = zeros(ny), *dx = zeros(nx);
        tlr_op_avgpool2d(&p, x, y);
        tlr_grad_avgpool2d(&p, dy, dx);
        char what[48];
        snprintf(what, sizeof what, "avgpool case %zu", i);
        adjoint_ok(dy, y, ny, dx, x, nx, what);
        free(x), free(dy), free(y), free(dx);
    }
    /* by hand: 3x3 stride 2 on 3x3 with 1 cell of padding before: the first window holds 4
     * real cells, so dy = 1 there gives 0.25 in each of them */
    tlr_pool2d_params q = { .n = 1, .h = 3, .w = 3, .c = 1, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                            .pad_top = 1, .pad_left = 1, .oh = 2, .ow = 2 };
    const float dy[4] = { 1, 0, 0, 0 };
    float dx[9];
    tlr_grad_avgpool2d(&q, dy, dx);
    const float want[9] = { 0.25f, 0.25f, 0, 0.25f, 0.25f, 0, 0, 0, 0 };
    CHECK(memcmp(dx, want, sizeof want) == 0, "avgpool divides by the real cells");
    float *x = rand_floats(seed, 2 * 9 * 5), *gy = rand_floats(seed, 2 * 5);
    float y[10], *gx = zeros(2 * 9 * 5);
    tlr_op_global_avgpool_ref(2, 9, 5, x, y);
    tlr_grad_global_avgpool(2, 9, 5, gy, gx);
    adjoint_ok(gy, y, 10, gx, x, 90, "global average pool");
    free(x), free(gy), free(gx);
}

static void pool_grads(void)
{
    uint64_t seed = 777;
    maxpool_routing();
    global_max_routing();
    avgpool_adjoint(&seed);
}

/* ---- activations ------------------------------------------------------------------------ */

/* The Keras formulas in double, written from their definitions (not from ops_act.c). */
static double act_ref(tlr_act kind, double alpha, double v)
{
    double r6 = fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0;
    double sp = log1p(exp(v));
    switch (kind) {
    case TLR_ACT_LINEAR: return v;
    case TLR_ACT_RELU: return fmax(v, 0.0);
    case TLR_ACT_RELU6: return fmin(fmax(v, 0.0), 6.0);
    case TLR_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case TLR_ACT_HARD_SIGMOID: return fmin(fmax(0.2 * v + 0.5, 0.0), 1.0);
    case TLR_ACT_HARD_SIGMOID_K3: return r6;
    case TLR_ACT_HARD_SWISH: return v * r6;
    case TLR_ACT_TANH: return tanh(v);
    case TLR_ACT_ELU: return v > 0 ? v : alpha * (exp(v) - 1.0);
    case TLR_ACT_SELU:
        return 1.0507009873554804934 * (v > 0 ? v : 1.6732632423543772848 * (exp(v) - 1.0));
    case TLR_ACT_SOFTPLUS: return sp;
    case TLR_ACT_SOFTSIGN: return v / (1.0 + fabs(v));
    case TLR_ACT_SWISH: return v / (1.0 + exp(-v));
    case TLR_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    case TLR_ACT_GELU_TANH:
        return 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    case TLR_ACT_EXPONENTIAL: return exp(v);
    case TLR_ACT_LEAKY_RELU: return v > 0 ? v : alpha * v;
    case TLR_ACT_MISH: return v * tanh(sp);
    default: return NAN;
    }
}

/* Points away from every kink (0, 6, +-2.5, +-3), and past the softplus cut-offs. */
static const float ACT_PTS[] = { -15.5f, -4.1f, -2.7f, -1.3f, -0.45f, -0.05f, 0.35f, 1.2f, 2.8f,
                                 4.4f, 6.9f, 15.5f };
#define N_ACT_PTS ((int64_t)(sizeof ACT_PTS / sizeof ACT_PTS[0]))

/* dx = dy * f'(x) against central differences of act_ref (step 1e-5). */
static void act_central_differences(uint64_t *seed)
{
    for (int k = 0; k < TLR_ACT_COUNT; k++) {
        if (k == TLR_ACT_SOFTMAX || k == TLR_ACT_LOG_SOFTMAX)
            continue;
        float alpha = k == TLR_ACT_ELU ? 0.7f : k == TLR_ACT_LEAKY_RELU ? 0.3f : 0.0f;
        tlr_act_params p = { .kind = (tlr_act)k, .alpha = alpha, .max_value = -1.0f };
        float *dy = rand_floats(seed, N_ACT_PTS), dx[N_ACT_PTS];
        tlr_grad_activation(&p, ACT_PTS, NULL, dy, dx, N_ACT_PTS, N_ACT_PTS);
        double worst = 0;
        for (int64_t i = 0; i < N_ACT_PTS; i++) {
            double v = ACT_PTS[i], h = 1e-5;
            double fd = (act_ref(p.kind, alpha, v + h) - act_ref(p.kind, alpha, v - h)) / (2 * h);
            double want = (double)dy[i] * fd, e = fabs((double)dx[i] - want);
            e /= fabs(want) > 1 ? fabs(want) : 1;
            worst = e > worst ? e : worst;
        }
        CHECK(worst <= 2e-5, "%s': central differences off by %.3g", tlr_act_name(p.kind), worst);
        free(dy);
    }
}

static float act_d_at(tlr_act kind, float alpha, float v)
{
    tlr_act_params p = { .kind = kind, .alpha = alpha, .max_value = -1.0f };
    float one = 1.0f, d;
    tlr_grad_activation(&p, &v, NULL, &one, &d, 1, 1);
    return d;
}

/* Derivatives worked out by hand at chosen points. */
static void act_by_hand(void)
{
    NEAR(act_d_at(TLR_ACT_SIGMOID, 0, 0), 0.25, 1e-7, "sigmoid'(0) = 1/4");
    NEAR(act_d_at(TLR_ACT_TANH, 0, 0), 1.0, 1e-7, "tanh'(0) = 1");
    NEAR(act_d_at(TLR_ACT_GELU, 0, 0), 0.5, 1e-7, "gelu'(0) = Phi(0) = 1/2");
    NEAR(act_d_at(TLR_ACT_GELU_TANH, 0, 0), 0.5, 1e-7, "gelu tanh'(0) = 1/2");
    /* gelu'(1) = Phi(1) + phi(1) = 0.841344746 + 0.241970725 */
    NEAR(act_d_at(TLR_ACT_GELU, 0, 1), 1.083315471, 1e-6, "gelu'(1)");
    NEAR(act_d_at(TLR_ACT_SWISH, 0, 0), 0.5, 1e-7, "swish'(0) = 1/2");
    NEAR(act_d_at(TLR_ACT_SOFTPLUS, 0, 0), 0.5, 1e-7, "softplus'(0) = 1/2");
    NEAR(act_d_at(TLR_ACT_SOFTSIGN, 0, 1), 0.25, 1e-7, "softsign'(1) = 1/(1+1)^2");
    NEAR(act_d_at(TLR_ACT_MISH, 0, 0), 0.6, 1e-6, "mish'(0) = tanh(ln 2) = 3/5");
    NEAR(act_d_at(TLR_ACT_EXPONENTIAL, 0, 0), 1.0, 1e-7, "exp'(0) = 1");
    NEAR(act_d_at(TLR_ACT_ELU, 0.5f, -1), 0.5 * exp(-1.0), 1e-7, "elu'(-1) = alpha/e");
    NEAR(act_d_at(TLR_ACT_SELU, 0, 1), 1.0507009873554805, 1e-6, "selu'(1) = scale");
    NEAR(act_d_at(TLR_ACT_HARD_SIGMOID, 0, 0), 0.2, 1e-7, "hard_sigmoid (Keras 2)'(0) = 0.2");
    NEAR(act_d_at(TLR_ACT_HARD_SIGMOID, 0, 2.6f), 0.0, 0, "hard_sigmoid (Keras 2) flat past 2.5");
    NEAR(act_d_at(TLR_ACT_HARD_SIGMOID_K3, 0, 0), 1.0 / 6, 1e-7, "hard_sigmoid (Keras 3)'(0) = 1/6");
    NEAR(act_d_at(TLR_ACT_HARD_SIGMOID_K3, 0, 2.6f), 1.0 / 6, 1e-7, "hard_sigmoid (Keras 3) still rising at 2.6");
    NEAR(act_d_at(TLR_ACT_HARD_SWISH, 0, 0), 0.5, 1e-7, "hard_swish'(0) = relu6(3)/6");
    NEAR(act_d_at(TLR_ACT_HARD_SWISH, 0, 1), 5.0 / 6, 1e-6, "hard_swish'(1) = relu6(4)/6 + 1 * 1/6");
    NEAR(act_d_at(TLR_ACT_RELU, 0, 0), 0.0, 0, "relu'(0) = 0 (the flat side)");
    NEAR(act_d_at(TLR_ACT_RELU6, 0, 6), 0.0, 0, "relu6'(6) = 0");
    NEAR(act_d_at(TLR_ACT_LEAKY_RELU, 0.2f, -3), 0.2, 1e-7, "leaky_relu'(-3) = alpha");
    OK(tlr_grad_act_needs_output(TLR_ACT_SOFTMAX) && !tlr_grad_act_needs_output(TLR_ACT_GELU),
       "softmax reads y, the rest x");
}

/* A ReLU layer's forward, step by step as Keras writes it, in double; leaky when only a
 * slope is set (max(alpha*x, x) past alpha 1, as ops.h's op says). */
static double relu_layer_ref(double v, double max_value, double slope, double t)
{
    if (slope != 0 && max_value < 0 && t == 0)
        return slope > 1 ? fmax(slope * v, v) : (v > 0 ? v : slope * v);
    double neg = fmax(t - v, 0.0);
    double y = t != 0 ? (v > t ? v : 0.0) : fmax(v, 0.0);
    if (max_value >= 0)
        y = fmin(fmax(y, 0.0), max_value);
    return y - slope * neg;
}

static void relu_layer_grads(void)
{
    /* max_value, slope, threshold */
    static const float cfgs[][3] = { { 6, 0, 0 }, { -1, 0.1f, 0 }, { -1, 2.0f, 0 },
                                     { 6, 0.2f, 0.5f }, { 4, 0, -1 }, { -1, 0.3f, 1.5f } };
    static const float pts[] = { -3.3f, -1.4f, -0.6f, -0.2f, 0.3f, 0.8f, 1.9f, 3.7f, 5.1f, 7.2f };
    const int64_t np = (int64_t)(sizeof pts / sizeof pts[0]);
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        float ones[10] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, dx[10];
        tlr_grad_relu_layer(pts, ones, dx, np, cfgs[c][0], cfgs[c][1], cfgs[c][2]);
        int bad = -1;
        for (int64_t i = 0; i < np && bad < 0; i++) {
            double v = pts[i], h = 1e-6;
            double fd = (relu_layer_ref(v + h, cfgs[c][0], cfgs[c][1], cfgs[c][2]) -
                         relu_layer_ref(v - h, cfgs[c][0], cfgs[c][1], cfgs[c][2])) / (2 * h);
            if (fabs(fd - (double)dx[i]) > 1e-5)
                bad = (int)i;
        }
        CHECK(bad < 0, "ReLU layer (max %g, slope %g, threshold %g): derivative off at x = %g",
              (double)cfgs[c][0], (double)cfgs[c][1], (double)cfgs[c][2],
              bad < 0 ? 0.0 : (double)pts[bad]);
    }
    /* the activation form: relu with max_value 6 routes to the layer */
    tlr_act_params p = { .kind = TLR_ACT_RELU, .max_value = 6.0f };
    float x[2] = { 3, 7 }, one[2] = { 1, 1 }, d[2];
    tlr_grad_activation(&p, x, NULL, one, d, 2, 2);
    OK(d[0] == 1 && d[1] == 0, "relu with max_value through the activation");
    /* PReLU by hand: alpha (0.1, 0.2) repeats over pairs */
    const float xp[4] = { -2, 3, 1, -0.5f }, al[2] = { 0.1f, 0.2f }, dy[4] = { 1, 2, 3, 4 };
    float dp[4];
    tlr_grad_prelu(xp, dy, dp, 4, al, 2);
    OK(dp[0] == 0.1f && dp[1] == 2 && dp[2] == 3 && dp[3] == 0.2f * 4, "PReLU by hand");
}

/* softmax in double over one row */
static void softmax_ref(const double *x, int64_t n, double *y)
{
    double m = x[0], s = 0;
    for (int64_t i = 1; i < n; i++)
        m = fmax(m, x[i]);
    for (int64_t i = 0; i < n; i++)
        s += exp(x[i] - m);
    for (int64_t i = 0; i < n; i++)
        y[i] = exp(x[i] - m) / s;
}

/* d/dx_j of L = <dy, softmax(x)> (log-softmax when take_log), central differences. */
static double softmax_fd(const float *x, const float *dy, int64_t n, int64_t j, int take_log)
{
    double xd[8], y[8], l[2];
    for (int side = 0; side < 2; side++) {
        for (int64_t i = 0; i < n; i++)
            xd[i] = x[i];
        xd[j] += side ? -1e-6 : 1e-6;
        softmax_ref(xd, n, y);
        l[side] = 0;
        for (int64_t i = 0; i < n; i++)
            l[side] += (double)dy[i] * (take_log ? log(y[i]) : y[i]);
    }
    return (l[0] - l[1]) / 2e-6;
}

static void softmax_grads(uint64_t *seed)
{
    /* by hand: x = (0, 0, ln 2) gives y = (1/4, 1/4, 1/2); J_ij = y_i (delta_ij - y_j);
     * dy = (1, 0, 0): dx = y * (dy - 1/4) = (3/16, -1/16, -1/8) */
    const float y3[3] = { 0.25f, 0.25f, 0.5f }, dy3[3] = { 1, 0, 0 };
    float dx3[3];
    tlr_act_params sm = { .kind = TLR_ACT_SOFTMAX };
    tlr_grad_activation(&sm, NULL, y3, dy3, dx3, 3, 3);
    OK(dx3[0] == 0.1875f && dx3[1] == -0.0625f && dx3[2] == -0.125f, "softmax Jacobian by hand");
    /* log-softmax: dx = dy - softmax * sum(dy); dy = (1, 1, 1) gives 1 - 3y = (1/4, 1/4, -1/2) */
    const float ly[3] = { logf(0.25f), logf(0.25f), logf(0.5f) }, ones[3] = { 1, 1, 1 };
    tlr_act_params lsm = { .kind = TLR_ACT_LOG_SOFTMAX };
    tlr_grad_activation(&lsm, NULL, ly, ones, dx3, 3, 3);
    NEAR(dx3[0], 0.25, 1e-7, "log-softmax by hand [0]");
    NEAR(dx3[2], -0.5, 1e-7, "log-softmax by hand [2]");
    /* random rows of 5 (two rows), both kinds, against central differences */
    for (int take_log = 0; take_log < 2; take_log++) {
        float *x = rand_floats(seed, 10), *dy = rand_floats(seed, 10), y[10], dx[10];
        for (int r = 0; r < 2; r++) {
            double xd[5], yd[5];
            for (int i = 0; i < 5; i++)
                xd[i] = 3.0 * (double)x[r * 5 + i];
            softmax_ref(xd, 5, yd);
            for (int i = 0; i < 5; i++) {
                x[r * 5 + i] = (float)xd[i];
                y[r * 5 + i] = (float)(take_log ? log(yd[i]) : yd[i]);
            }
        }
        tlr_act_params p = { .kind = take_log ? TLR_ACT_LOG_SOFTMAX : TLR_ACT_SOFTMAX };
        tlr_grad_activation(&p, x, y, dy, dx, 10, 5);
        double worst = 0;
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < 5; j++) {
                double e = fabs((double)dx[r * 5 + j] - softmax_fd(x + r * 5, dy + r * 5, 5, j, take_log));
                worst = e > worst ? e : worst;
            }
        CHECK(worst <= 1e-5, "%s rows: central differences off by %.3g",
              take_log ? "log-softmax" : "softmax", worst);
        free(x), free(dy);
    }
    /* a middle axis: (outer 2, len 3, inner 4), each (o, j) column a softmax over 3 */
    float *x = rand_floats(seed, 24), *dy = rand_floats(seed, 24), y[24], dx[24];
    for (int o = 0; o < 2; o++)
        for (int j = 0; j < 4; j++) {
            double xd[3], yd[3];
            for (int l = 0; l < 3; l++)
                xd[l] = x[(o * 3 + l) * 4 + j];
            softmax_ref(xd, 3, yd);
            for (int l = 0; l < 3; l++)
                y[(o * 3 + l) * 4 + j] = (float)yd[l];
        }
    tlr_grad_softmax_axis(y, dy, dx, 2, 3, 4);
    double worst = 0;
    for (int o = 0; o < 2; o++)
        for (int j = 0; j < 4; j++) {
            float xc[3], dc[3];
            for (int l = 0; l < 3; l++) {
                xc[l] = x[(o * 3 + l) * 4 + j];
                dc[l] = dy[(o * 3 + l) * 4 + j];
            }
            for (int l = 0; l < 3; l++) {
                double e = fabs((double)dx[(o * 3 + l) * 4 + j] - softmax_fd(xc, dc, 3, l, 0));
                worst = e > worst ? e : worst;
            }
        }
    CHECK(worst <= 1e-5, "softmax over a middle axis: central differences off by %.3g", worst);
    free(x), free(dy);
}

static void act_grads(void)
{
    uint64_t seed = 4242;
    act_central_differences(&seed);
    act_by_hand();
    relu_layer_grads();
    softmax_grads(&seed);
}

/* ---- normalisation ------------------------------------------------------------------------ */

/* An affine op y = A x + b is checked on its linear part: <dy, op(x) - op(0)> = <dx, x>. */
static void affine_adjoint(const float *dy, const float *y, const float *y0, int64_t n,
                           const float *dx, const float *x, const char *what)
{
    float *lin = zeros(n);
    for (int64_t i = 0; i < n; i++)
        lin[i] = (float)((double)y[i] - (double)y0[i]);
    adjoint_ok(dy, lin, n, dx, x, n, what);
    free(lin);
}

static void norm_grads(uint64_t *seed)
{
    /* (outer 3, C 4, inner 5): a channel axis in the middle */
    const int64_t outer = 3, c = 4, inner = 5, n = outer * c * inner;
    const float gamma[4] = { 1.5f, -0.5f, 2.0f, 0.25f }, beta[4] = { 0.1f, 0.2f, -0.3f, 0.4f };
    const float mean[4] = { 0.5f, -1.0f, 0.0f, 2.0f }, var[4] = { 3.0f, 0.5f, 1.0f, 8.0f };
    float *x = rand_floats(seed, n), *dy = rand_floats(seed, n);
    float *y = zeros(n), *y0 = zeros(n), *dx = zeros(n);
    memcpy(y, x, (size_t)n * sizeof *y);
    tlr_op_batchnorm(y, outer, c, inner, gamma, beta, mean, var, 1e-3f);
    tlr_op_batchnorm(y0, outer, c, inner, gamma, beta, mean, var, 1e-3f);
    tlr_grad_batchnorm(dy, dx, outer, c, inner, gamma, var, 1e-3f);
    affine_adjoint(dy, y, y0, n, dx, x, "batchnorm");
    /* by hand: var 3, eps 1, gamma 1.5: dx = dy * 1.5 / sqrt(4) = 0.75 dy */
    const float one = 1.0f, v3 = 3.0f, g15 = 1.5f;
    float d;
    tlr_grad_batchnorm(&one, &d, 1, 1, 1, &g15, &v3, 1.0f);
    NEAR(d, 0.75, 1e-7, "batchnorm by hand");
    tlr_grad_batchnorm(&one, &d, 1, 1, 1, NULL, &v3, 1.0f);
    NEAR(d, 0.5, 1e-7, "batchnorm without gamma");
    /* channel affine (Normalization's scale 1/sd, shift -mean/sd) over the last axis */
    memcpy(y, x, (size_t)n * sizeof *y);
    memset(y0, 0, (size_t)n * sizeof *y0);
    tlr_op_channel_affine(y, outer * inner, c, 1, gamma, beta);
    tlr_op_channel_affine(y0, outer * inner, c, 1, gamma, beta);
    tlr_grad_channel_affine(dy, dx, outer * inner, c, 1, gamma);
    affine_adjoint(dy, y, y0, n, dx, x, "channel affine");
    /* Rescaling: a scalar scale (C = 1), and a shift only */
    const float k = 1.0f / 255.0f;
    tlr_grad_channel_affine(dy, dx, n, 1, 1, &k);
    NEAR(dx[7], (double)dy[7] / 255.0, 1e-9, "rescaling scales dy");
    tlr_grad_channel_affine(dy, dx, outer, c, inner, NULL);
    CHECK(memcmp(dx, dy, (size_t)n * sizeof *dx) == 0, "a shift alone passes dy through");
    free(x), free(dy), free(y), free(y0), free(dx);
}

/* ---- layout ------------------------------------------------------------------------------ */

static void pad_crop_adjoint(uint64_t *seed)
{
    const int64_t n = 2, h = 5, w = 4, c = 3;
    const int top = 1, bottom = 2, left = 0, right = 3;
    const int64_t np = n * (h + top + bottom) * (w + left + right) * c, nx = n * h * w * c;
    float *x = rand_floats(seed, nx), *dyp = rand_floats(seed, np);
    float *yp = zeros(np), *dx = zeros(nx);
    tlr_op_pad2d(n, h, w, c, top, bottom, left, right, x, yp);
    tlr_grad_pad2d(n, h, w, c, top, bottom, left, right, dyp, dx);
    adjoint_ok(dyp, yp, np, dx, x, nx, "pad2d");
    /* crop the padded size back down: input (n, 8, 7, c) -> (n, 5, 4, c) */
    float *xc = rand_floats(seed, np), *dyc = rand_floats(seed, nx);
    float *yc = zeros(nx), *dxc = zeros(np);
    tlr_op_crop2d(n, h + top + bottom, w + left + right, c, top, bottom, left, right, xc, yc);
    tlr_grad_crop2d(n, h + top + bottom, w + left + right, c, top, bottom, left, right, dyc, dxc);
    adjoint_ok(dyc, yc, nx, dxc, xc, np, "crop2d");
    free(x), free(dyp), free(yp), free(dx), free(xc), free(dyc), free(yc), free(dxc);
}

static void resize_adjoint(uint64_t *seed)
{
    /* h w oh ow: up, down, non-integer ratios, one axis only, same size */
    static const int64_t sizes[][4] = { { 3, 4, 6, 8 }, { 5, 7, 9, 4 }, { 7, 7, 3, 3 },
                                        { 4, 5, 4, 11 }, { 1, 3, 2, 5 }, { 6, 5, 6, 5 } };
    for (int mode = 0; mode < 2; mode++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            const int64_t n = 2, c = 3, h = sizes[i][0], w = sizes[i][1];
            const int64_t oh = sizes[i][2], ow = sizes[i][3];
            int64_t nx = n * h * w * c, ny = n * oh * ow * c;
            float *x = rand_floats(seed, nx), *dy = rand_floats(seed, ny);
            float *y = zeros(ny), *dx = zeros(nx);
            tlr_resize_mode m = mode ? TLR_RESIZE_BILINEAR : TLR_RESIZE_NEAREST;
            tlr_op_resize2d(m, n, h, w, c, oh, ow, x, y);
            tlr_grad_resize2d(m, n, h, w, c, oh, ow, dy, dx);
            char what[80];
            snprintf(what, sizeof what, "resize %s %lldx%lld -> %lldx%lld",
                     mode ? "bilinear" : "nearest", (long long)h, (long long)w, (long long)oh,
                     (long long)ow);
            adjoint_ok(dy, y, ny, dx, x, nx, what);
            free(x), free(dy), free(y), free(dx);
        }
    /* by hand, bilinear 1x2 -> 1x4: source positions -0.25, 0.25, 0.75, 1.25 give weights on
     * (x0, x1) of (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1); dy = 1 everywhere: (2, 2) */
    const float ones[4] = { 1, 1, 1, 1 }, dyb[4] = { 0, 1, 0, 0 };
    float g[2];
    tlr_grad_resize2d(TLR_RESIZE_BILINEAR, 1, 1, 2, 1, 1, 4, ones, g);
    OK(g[0] == 2 && g[1] == 2, "bilinear 1x2 -> 1x4: each cell gets weight 2 in all");
    tlr_grad_resize2d(TLR_RESIZE_BILINEAR, 1, 1, 2, 1, 1, 4, dyb, g);
    OK(g[0] == 0.75f && g[1] == 0.25f, "bilinear 1x2 -> 1x4: the second output's weights");
}

static void upsample_transpose_concat(uint64_t *seed)
{
    const int64_t n = 2, h = 3, w = 4, c = 2, nx = n * h * w * c, ny = nx * 2 * 3;
    float *x = rand_floats(seed, nx), *dy = rand_floats(seed, ny), *y = zeros(ny), *dx = zeros(nx);
    tlr_op_upsample_nearest(n, h, w, c, 2, 3, x, y);
    tlr_grad_upsample_nearest(n, h, w, c, 2, 3, dy, dx);
    adjoint_ok(dy, y, ny, dx, x, nx, "upsample nearest 2x3");
    float ones[24 * 6], g[24];
    for (int i = 0; i < 24 * 6; i++)
        ones[i] = 1;
    tlr_grad_upsample_nearest(1, 3, 4, 2, 2, 3, ones, g);
    OK(g[0] == 6 && g[23] == 6, "upsample 2x3: each cell sums a block of 6");
    free(x), free(dy), free(y), free(dx);

    /* transpose (2, 3, 4, 5) by (0, 3, 1, 2), and a rank-3 (2, 0, 1) */
    const int64_t shape[4] = { 2, 3, 4, 5 }, shape3[3] = { 3, 4, 5 };
    const int perm[4] = { 0, 3, 1, 2 }, perm3[3] = { 2, 0, 1 };
    float *xt = rand_floats(seed, 120), *dyt = rand_floats(seed, 120);
    float *yt = zeros(120), *dxt = zeros(120);
    tlr_tensor_transpose(4, shape, perm, xt, yt);
    tlr_grad_transpose(4, shape, perm, dyt, dxt);
    adjoint_ok(dyt, yt, 120, dxt, xt, 120, "transpose (0, 3, 1, 2)");
    tlr_tensor_transpose(3, shape3, perm3, xt, yt);
    tlr_grad_transpose(3, shape3, perm3, dyt, dxt);
    adjoint_ok(dyt, yt, 60, dxt, xt, 60, "transpose (2, 0, 1)");
    free(xt), free(dyt), free(yt), free(dxt);

    /* concat of three inputs along a middle axis: (outer 2, len 1/3/2, inner 4) */
    const int64_t len[3] = { 1, 3, 2 }, outer = 2, inner = 4, total = 6 * 2 * 4;
    float *xs[3], *gs[3];
    for (int k = 0; k < 3; k++) {
        xs[k] = rand_floats(seed, outer * len[k] * inner);
        gs[k] = zeros(outer * len[k] * inner);
    }
    float *dyc = rand_floats(seed, total), *yc = zeros(total);
    tlr_op_concat((const float *const *)xs, len, 3, outer, inner, yc);
    tlr_grad_concat(dyc, len, 3, outer, inner, gs);
    double lhs = dot(dyc, yc, total, NULL), rhs = 0;
    for (int k = 0; k < 3; k++)
        rhs += dot(gs[k], xs[k], outer * len[k] * inner, NULL);
    NEAR(lhs, rhs, 1e-9, "concat: <dy, concat(x)> = sum of <dx_k, x_k>");
    OK(gs[1][0] == dyc[4] && gs[2][inner * 2] == dyc[6 * inner + 4 * inner],
       "concat splits dy in order");
    for (int k = 0; k < 3; k++)
        free(xs[k]), free(gs[k]);
    free(dyc), free(yc);
}

static void layout_grads(void)
{
    uint64_t seed = 999;
    norm_grads(&seed);
    pad_crop_adjoint(&seed);
    resize_adjoint(&seed);
    upsample_transpose_concat(&seed);
}

/* ---- merges ------------------------------------------------------------------------------- */

/* sum over inputs of <dx_k, x_k>; input k has numel[k] elements */
static double dot_inputs(float *const *dx, float *const *x, const int64_t *numel, int n_in)
{
    double s = 0;
    for (int k = 0; k < n_in; k++)
        s += dot(dx[k], x[k], numel[k], NULL);
    return s;
}

/* Add, Subtract and Average are linear (so sum_k <dx_k, x_k> = <dy, y>), Maximum and
 * Minimum homogeneous of degree 1 (the same identity, by Euler's theorem), Multiply of
 * n_in inputs homogeneous of degree n_in (sum_k <dx_k, x_k> = n_in <dy, y>).  This checks
 * every merge, plain or broadcast, with one identity. */
static void merge_identity(tlr_merge kind, int n_in, int ndim, const int64_t *in_shapes,
                           const int64_t *out_shape, uint64_t *seed, const char *what)
{
    float *x[3], *dx[3];
    int64_t numel[3], total = 1;
    for (int d = 0; d < ndim; d++)
        total *= out_shape[d];
    for (int k = 0; k < n_in; k++) {
        numel[k] = 1;
        for (int d = 0; d < ndim; d++)
            numel[k] *= in_shapes[k * ndim + d];
        x[k] = rand_floats(seed, numel[k]);
        dx[k] = zeros(numel[k]);
    }
    float *dy = rand_floats(seed, total), *y = zeros(total);
    int plain = 1;
    for (int k = 0; k < n_in; k++)
        plain = plain && numel[k] == total;
    if (plain) {
        tlr_op_merge(kind, (const float *const *)x, n_in, total, y);
        tlr_grad_merge(kind, (const float *const *)x, n_in, total, dy, dx);
    } else {
        tlr_op_merge_broadcast(kind, (const float *const *)x, n_in, ndim, in_shapes, out_shape, y);
        tlr_grad_merge_broadcast(kind, (const float *const *)x, n_in, ndim, in_shapes, out_shape,
                                 dy, dx);
    }
    double sy, lhs = dot(dy, y, total, &sy) * (kind == TLR_MERGE_MULTIPLY ? n_in : 1);
    double rhs = dot_inputs(dx, x, numel, n_in);
    double rel = fabs(lhs - rhs) / (sy > 0 ? sy : 1);
    CHECK(rel <= 1e-5, "%s: <dy, y> identity %.9g vs %.9g (rel %.3g)", what, lhs, rhs, rel);
    for (int k = 0; k < n_in; k++)
        free(x[k]), free(dx[k]);
    free(dy), free(y);
}

static void merge_identities(uint64_t *seed)
{
    static const char *names[TLR_MERGE_COUNT] = { "add", "subtract", "multiply", "average",
                                                  "maximum", "minimum" };
    /* plain (2, 3, 4) with 2 and 3 inputs; broadcast SE gate (2, 3, 4, 5) x (2, 1, 1, 5);
     * both sides broadcast (1, 3) x (4, 1) */
    const int64_t plain3[9] = { 2, 3, 4, 2, 3, 4, 2, 3, 4 };
    const int64_t se[8] = { 2, 3, 4, 5, 2, 1, 1, 5 }, se_out[4] = { 2, 3, 4, 5 };
    const int64_t two[4] = { 1, 3, 4, 1 }, two_out[2] = { 4, 3 };
    for (int m = 0; m < TLR_MERGE_COUNT; m++) {
        char what[64];
        for (int n_in = 2; n_in <= 3; n_in++) {
            if (m == TLR_MERGE_SUBTRACT && n_in == 3)
                continue;
            snprintf(what, sizeof what, "%s of %d inputs", names[m], n_in);
            merge_identity((tlr_merge)m, n_in, 3, plain3, plain3, seed, what);
        }
        snprintf(what, sizeof what, "%s broadcast (N, H, W, C) x (N, 1, 1, C)", names[m]);
        merge_identity((tlr_merge)m, 2, 4, se, se_out, seed, what);
        snprintf(what, sizeof what, "%s broadcast (1, 3) x (4, 1)", names[m]);
        merge_identity((tlr_merge)m, 2, 2, two, two_out, seed, what);
    }
}

static void merges_by_hand(void)
{
    /* Multiply (2, 3, -4), dy 1: (3 * -4, 2 * -4, 2 * 3); Maximum of (1, 3, 3) ties to the
     * first 3; Minimum of (NaN, 0) keeps the NaN in front (nothing compares smaller) */
    const float a[3] = { 2, 1, NAN }, b[3] = { 3, 3, 0 }, c[3] = { -4, 3, 1 }, dy[3] = { 1, 1, 1 };
    const float *in[3] = { a, b, c };
    float ga[3], gb[3], gc[3];
    float *g[3] = { ga, gb, gc };
    tlr_grad_merge(TLR_MERGE_MULTIPLY, in, 3, 1, dy, g);
    OK(ga[0] == -12 && gb[0] == -8 && gc[0] == 6, "multiply by hand");
    const float *in1[3] = { a + 1, b + 1, c + 1 };
    tlr_grad_merge(TLR_MERGE_MAXIMUM, in1, 3, 1, dy, g);
    OK(ga[0] == 0 && gb[0] == 1 && gc[0] == 0, "maximum ties go to the first");
    const float *in2[2] = { a + 2, b + 2 };
    tlr_grad_merge(TLR_MERGE_MINIMUM, in2, 2, 1, dy, g);
    OK(ga[0] == 1 && gb[0] == 0, "minimum keeps a leading NaN");
    tlr_grad_merge(TLR_MERGE_AVERAGE, in, 3, 1, dy, g);
    NEAR(gc[0], 1.0 / 3, 1e-7, "average gives dy / n");
    tlr_grad_merge(TLR_MERGE_SUBTRACT, in, 2, 1, dy, g);
    OK(ga[0] == 1 && gb[0] == -1, "subtract");

    /* broadcast (1, 3) with (2, 1) to (2, 3), dy = [[1, 2, 3], [4, 5, 6]]:
     * Add: column sums (5, 7, 9) and row sums (6, 15);
     * Maximum of a = [1, 5, 2] and b = [2; 5]: winners [[b, a, a (tie)], [b, a (tie), b]] */
    const float va[3] = { 1, 5, 2 }, vb[2] = { 2, 5 }, d6[6] = { 1, 2, 3, 4, 5, 6 };
    const float *bin[2] = { va, vb };
    const int64_t shapes[4] = { 1, 3, 2, 1 }, out[2] = { 2, 3 };
    float da[3], db[2];
    float *bd[2] = { da, db };
    tlr_grad_merge_broadcast(TLR_MERGE_ADD, bin, 2, 2, shapes, out, d6, bd);
    OK(da[0] == 5 && da[1] == 7 && da[2] == 9 && db[0] == 6 && db[1] == 15,
       "broadcast add sums over the broadcast axes");
    tlr_grad_merge_broadcast(TLR_MERGE_MAXIMUM, bin, 2, 2, shapes, out, d6, bd);
    OK(da[0] == 0 && da[1] == 7 && da[2] == 3 && db[0] == 1 && db[1] == 10,
       "broadcast maximum routes per element, ties to the first input");
}

static void merge_grads(void)
{
    uint64_t seed = 31337;
    merge_identities(&seed);
    merges_by_hand();
}

void test_grad_ops(void)
{
    conv_grads();
    pool_grads();
    act_grads();
    layout_grads();
    merge_grads();
}
