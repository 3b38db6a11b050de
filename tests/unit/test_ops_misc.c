/* test_ops_misc.c - the non-GEMM ops (activations, pooling, normalisation, merges, layout)
 * against values worked out by hand or with tests/gen/ops_misc_values.py (Python math and
 * numpy in double precision, written from the Keras/TF definitions, not from tlreport). */
#include <stdlib.h>

#include "harness.h"
#include "base/tensor.h"
#include "engine/ops.h"

#define LEN(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

/* Relative-or-absolute closeness per element, naming the first element that is off. */
static void vec_near(const float *got, const float *want, int64_t n, double tol,
                     const char *msg)
{
    for (int64_t i = 0; i < n; i++) {
        double g = (double)got[i], w = (double)want[i];
        double lim = tol * (fabs(w) > 1.0 ? fabs(w) : 1.0);
        if (!(fabs(g - w) <= lim)) {
            CHECK(0, "%s: element %lld: got %.9g, want %.9g", msg, (long long)i, g, w);
            return;
        }
    }
    CHECK(1, "%s", msg);
}

/* ---- activations ---------------------------------------------------------------------- */

static const float ACT_X[7] = {-3.0f, -1.0f, -0.25f, 0.0f, 0.5f, 2.0f, 7.0f};

static void act_case(tlr_act kind, float alpha, const float *want, const char *msg)
{
    tlr_act_params p = {.kind = kind, .alpha = alpha, .max_value = -1.0f};
    float x[7];
    memcpy(x, ACT_X, sizeof x);
    tlr_op_activation(&p, x, 7, 7);
    vec_near(x, want, 7, 2e-6, msg);
}

static void activations_elementwise(void)
{
    static const float lin[7] = {-3, -1, -0.25f, 0, 0.5f, 2, 7};
    static const float relu[7] = {0, 0, 0, 0, 0.5f, 2, 7};
    static const float relu6[7] = {0, 0, 0, 0, 0.5f, 2, 6};
    static const float sigmoid[7] = {0.04742587318f, 0.2689414214f, 0.4378234991f, 0.5f,
                                     0.6224593312f, 0.880797078f, 0.9990889488f};
    static const float hsig2[7] = {0, 0.3f, 0.45f, 0.5f, 0.6f, 0.9f, 1};
    static const float hsig3[7] = {0, 0.3333333333f, 0.4583333333f, 0.5f, 0.5833333333f,
                                   0.8333333333f, 1};
    static const float hswish[7] = {0, -0.3333333333f, -0.1145833333f, 0, 0.2916666667f,
                                    1.666666667f, 7};
    static const float tanh_[7] = {-0.9950547537f, -0.761594156f, -0.2449186624f, 0,
                                   0.4621171573f, 0.9640275801f, 0.9999983369f};
    static const float elu1[7] = {-0.9502129316f, -0.6321205588f, -0.2211992169f, 0, 0.5f, 2, 7};
    static const float elu05[7] = {-0.4751064658f, -0.3160602794f, -0.1105996085f, 0, 0.5f, 2, 7};
    static const float selu[7] = {-1.670568729f, -1.111330738f, -0.3888901975f, 0,
                                  0.5253504937f, 2.101401975f, 7.354906911f};
    static const float softplus[7] = {0.04858735157f, 0.3132616875f, 0.5759394199f,
                                      0.6931471806f, 0.9740769842f, 2.126928011f, 7.000911466f};
    static const float softsign[7] = {-0.75f, -0.5f, -0.2f, 0, 0.3333333333f, 0.6666666667f,
                                      0.875f};
    static const float swish[7] = {-0.1422776195f, -0.2689414214f, -0.1094558748f, 0,
                                   0.3112296656f, 1.761594156f, 6.993622642f};
    static const float gelu[7] = {-0.004049694095f, -0.1586552539f, -0.1003234186f, 0,
                                  0.3457312306f, 1.954499736f, 7};
    static const float gelu_t[7] = {-0.003637392082f, -0.1588080094f, -0.1003246493f, 0,
                                    0.3457140098f, 1.954597694f, 7};
    static const float expo[7] = {0.04978706837f, 0.3678794412f, 0.7788007831f, 1,
                                  1.648721271f, 7.389056099f, 1096.633158f};
    static const float leaky[7] = {-0.9f, -0.3f, -0.075f, 0, 0.5f, 2, 7};
    static const float mish[7] = {-0.1456474613f, -0.3034014614f, -0.1299269637f, 0,
                                  0.3752452113f, 1.94395896f, 6.99998838f};

    act_case(TLR_ACT_LINEAR, 0, lin, "linear");
    act_case(TLR_ACT_RELU, 0, relu, "relu");
    act_case(TLR_ACT_RELU6, 0, relu6, "relu6");
    act_case(TLR_ACT_SIGMOID, 0, sigmoid, "sigmoid");
    act_case(TLR_ACT_HARD_SIGMOID, 0, hsig2, "hard_sigmoid Keras 2 (0.2x + 0.5)");
    act_case(TLR_ACT_HARD_SIGMOID_K3, 0, hsig3, "hard_sigmoid Keras 3 (relu6(x+3)/6)");
    act_case(TLR_ACT_HARD_SWISH, 0, hswish, "hard_swish");
    act_case(TLR_ACT_TANH, 0, tanh_, "tanh");
    act_case(TLR_ACT_ELU, 1.0f, elu1, "elu alpha 1");
    act_case(TLR_ACT_ELU, 0.5f, elu05, "elu alpha 0.5");
    act_case(TLR_ACT_SELU, 0, selu, "selu");
    act_case(TLR_ACT_SOFTPLUS, 0, softplus, "softplus");
    act_case(TLR_ACT_SOFTSIGN, 0, softsign, "softsign");
    act_case(TLR_ACT_SWISH, 0, swish, "swish");
    act_case(TLR_ACT_GELU, 0, gelu, "gelu exact");
    act_case(TLR_ACT_GELU_TANH, 0, gelu_t, "gelu tanh approximation");
    act_case(TLR_ACT_EXPONENTIAL, 0, expo, "exponential");
    act_case(TLR_ACT_LEAKY_RELU, 0.3f, leaky, "leaky_relu 0.3");
    act_case(TLR_ACT_MISH, 0, mish, "mish");

    /* softplus far out: no overflow for large x, exp(x) for very negative x */
    tlr_act_params sp = {.kind = TLR_ACT_SOFTPLUS};
    float far[3] = {20.0f, -20.0f, 100.0f};
    tlr_op_activation(&sp, far, 3, 3);
    NEAR(far[0], 20.0, 1e-5, "softplus(20)");
    NEAR(far[1], 2.06115362e-09, 1e-15, "softplus(-20)");
    NEAR(far[2], 100.0, 1e-4, "softplus(100) finite");

    /* sigmoid and swish at the extremes stay finite */
    tlr_act_params sg = {.kind = TLR_ACT_SIGMOID};
    float ext[2] = {-100.0f, 100.0f};
    tlr_op_activation(&sg, ext, 2, 2);
    OK(ext[0] >= 0.0f && ext[0] < 1e-30f && ext[1] == 1.0f, "sigmoid(+-100)");

    /* a 'relu' activation with a zero-filled params struct is plain relu */
    tlr_act_params zero = {.kind = TLR_ACT_RELU};
    float z[3] = {-1.0f, 0.5f, 100.0f};
    tlr_op_activation(&zero, z, 3, 3);
    OK(z[0] == 0.0f && z[1] == 0.5f && z[2] == 100.0f, "relu with zeroed params");
    /* ... and one carrying ReLU-layer settings applies them */
    tlr_act_params lay = {.kind = TLR_ACT_RELU, .alpha = 0.5f, .max_value = 6.0f};
    float l[3] = {-2.0f, 3.0f, 9.0f};
    tlr_op_activation(&lay, l, 3, 3);
    OK(l[0] == -1.0f && l[1] == 3.0f && l[2] == 6.0f, "relu with slope 0.5, max 6");
}

static void activations_softmax(void)
{
    tlr_act_params sm = {.kind = TLR_ACT_SOFTMAX};
    tlr_act_params lsm = {.kind = TLR_ACT_LOG_SOFTMAX};

    /* two rows of 3: [1,2,3] and the same shifted by 100 (softmax is shift-invariant) */
    float x[6] = {1, 2, 3, 101, 102, 103};
    static const float want[6] = {0.09003057317f, 0.2447284711f, 0.6652409558f,
                                  0.09003057317f, 0.2447284711f, 0.6652409558f};
    tlr_op_activation(&sm, x, 6, 3);
    vec_near(x, want, 6, 1e-6, "softmax rows of 3");

    float big[2] = {1000.0f, 1001.0f};
    static const float want_big[2] = {0.2689414214f, 0.7310585786f};
    tlr_op_activation(&sm, big, 2, 2);
    vec_near(big, want_big, 2, 1e-6, "softmax 1000, 1001 without overflow");

    float ls[3] = {1, 2, 3};
    static const float want_ls[3] = {-2.407605964f, -1.407605964f, -0.4076059644f};
    tlr_op_activation(&lsm, ls, 3, 3);
    vec_near(ls, want_ls, 3, 1e-6, "log_softmax 1,2,3");

    float lbig[2] = {1000.0f, 1001.0f};
    static const float want_lbig[2] = {-1.313261688f, -0.3132616875f};
    tlr_op_activation(&lsm, lbig, 2, 2);
    vec_near(lbig, want_lbig, 2, 1e-6, "log_softmax 1000, 1001");

    /* softmax over the middle axis of (1, 3, 2): columns [1,2,3] and [10,20,30] */
    float mid[6] = {1, 10, 2, 20, 3, 30};
    static const float want_mid[6] = {0.09003057317f, 2.061060046e-09f, 0.2447284711f,
                                      4.539786861e-05f, 0.6652409558f, 0.9999546001f};
    tlr_op_softmax_axis(mid, 1, 3, 2);
    vec_near(mid, want_mid, 6, 1e-6, "softmax over middle axis");
    /* inner = 1 is the last-axis case; outer = 2 rows */
    float last[4] = {1000, 1001, 0, 0};
    static const float want_last[4] = {0.2689414214f, 0.7310585786f, 0.5f, 0.5f};
    tlr_op_softmax_axis(last, 2, 2, 1);
    vec_near(last, want_last, 4, 1e-6, "softmax_axis with inner 1");
}

static void relu_layer(void)
{
    /* Keras docs' examples: x = [-10, -5, 0, 5, 10] */
    float a[5] = {-10, -5, 0, 5, 10};
    static const float w_a[5] = {-5, -2.5f, 0, 5, 10};
    tlr_op_relu_layer(a, 5, 10.0f, 0.5f, 0.0f);
    vec_near(a, w_a, 5, 0, "ReLU(max 10, slope 0.5)");

    float b[5] = {-10, -5, 0, 5, 10};
    static const float w_b[5] = {0, 0, 0, 5, 5};
    tlr_op_relu_layer(b, 5, 5.0f, 0.0f, 0.0f);
    vec_near(b, w_b, 5, 0, "ReLU(max 5)");

    float c[5] = {-10, -5, 0, 5, 10};
    static const float w_c[5] = {0, 0, 0, 0, 10}; /* x == threshold gives 0 */
    tlr_op_relu_layer(c, 5, -1.0f, 0.0f, 5.0f);
    vec_near(c, w_c, 5, 0, "ReLU(threshold 5)");

    float d[5] = {-10, -5, 0, 5, 10};
    static const float w_d[5] = {-5, -2.5f, 0, 5, 10};
    tlr_op_relu_layer(d, 5, -1.0f, 0.5f, 0.0f);
    vec_near(d, w_d, 5, 0, "ReLU(slope 0.5) is leaky relu");

    /* threshold 1.5, slope 0.5, max 4: neg = relu(1.5 - x); y = x > 1.5 ? x : 0;
     * clip to [0, 4]; y -= 0.5 * neg  ->  -1 -> -1.25, 1.5 -> 0, 2 -> 2, 5 -> 4 */
    float e[4] = {-1, 1.5f, 2, 5};
    static const float w_e[4] = {-1.25f, 0, 2, 4};
    tlr_op_relu_layer(e, 4, 4.0f, 0.5f, 1.5f);
    vec_near(e, w_e, 4, 0, "ReLU(threshold 1.5, slope 0.5, max 4)");

    /* negative threshold: values in (threshold, 0) pass without max_value, clip to 0 with */
    float f[3] = {-2, -0.5f, 3};
    static const float w_f[3] = {0, -0.5f, 3};
    tlr_op_relu_layer(f, 3, -1.0f, 0.0f, -1.0f);
    vec_near(f, w_f, 3, 0, "ReLU(threshold -1)");
    float g[3] = {-2, -0.5f, 3};
    static const float w_g[3] = {0, 0, 3};
    tlr_op_relu_layer(g, 3, 6.0f, 0.0f, -1.0f);
    vec_near(g, w_g, 3, 0, "ReLU(threshold -1, max 6)");

    /* max_value 6 alone is relu6 */
    float h[3] = {-1, 3, 8};
    static const float w_h[3] = {0, 3, 6};
    tlr_op_relu_layer(h, 3, 6.0f, 0.0f, 0.0f);
    vec_near(h, w_h, 3, 0, "ReLU(max 6)");
}

static void prelu(void)
{
    /* (2, 3) with alpha per feature */
    float x[6] = {-1, 2, -3, 4, -5, 0};
    static const float alpha[3] = {0.1f, 0.2f, 0.3f};
    static const float want[6] = {-0.1f, 2, -0.9f, 4, -1.0f, 0};
    tlr_op_prelu(x, 6, alpha, 3);
    vec_near(x, want, 6, 1e-7, "prelu");
}

static void act_names(void)
{
    STR_EQ(tlr_act_name(TLR_ACT_RELU), "relu", "name relu");
    STR_EQ(tlr_act_name(TLR_ACT_HARD_SIGMOID), "hard_sigmoid", "name hard_sigmoid");
    STR_EQ(tlr_act_name(TLR_ACT_SWISH), "swish", "name swish");
    STR_EQ(tlr_act_name(TLR_ACT_COUNT), "unknown", "name out of range");
    int named = 1;
    for (int k = 0; k < TLR_ACT_COUNT; k++)
        if (!tlr_act_name((tlr_act)k) || !strcmp(tlr_act_name((tlr_act)k), "unknown"))
            named = 0;
    OK(named, "every activation has a name");
}

/* ---- pooling -------------------------------------------------------------------------- */

static void pooling(void)
{
    /* 4x4 single channel 1..16, k 3, stride 2, 'same': out 2x2, pad total 1 -> top 0 */
    float in[16];
    for (int i = 0; i < 16; i++)
        in[i] = (float)(i + 1);
    tlr_pool2d_params p = {.n = 1, .h = 4, .w = 4, .c = 1, .oh = 2, .ow = 2,
                           .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pad_top = 0, .pad_left = 0};
    float out[4];
    static const float w_max[4] = {11, 12, 15, 16};
    tlr_op_maxpool2d_ref(&p, in, out);
    vec_near(out, w_max, 4, 0, "maxpool 4x4 k3 s2 same");
    /* windows: {1,2,3,5,6,7,9,10,11} {3,4,7,8,11,12} {9,10,11,13,14,15} {11,12,15,16} */
    static const float w_avg[4] = {6, 7.5f, 12, 13.5f};
    tlr_op_avgpool2d(&p, in, out);
    vec_near(out, w_avg, 4, 1e-7, "avgpool 4x4 k3 s2 same divides by real cells");

    /* 3x3, k 3, stride 1, 'same' (pad 1 all round), 2 channels: c0 = 1..9, c1 = -(1..9).
     * Corner windows hold 4 real cells, edges 6, the centre 9. */
    float in2[18];
    for (int i = 0; i < 9; i++) {
        in2[2 * i] = (float)(i + 1);
        in2[2 * i + 1] = -(float)(i + 1);
    }
    tlr_pool2d_params q = {.n = 1, .h = 3, .w = 3, .c = 2, .oh = 3, .ow = 3,
                           .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad_top = 1, .pad_left = 1};
    float o2[18];
    tlr_op_avgpool2d(&q, in2, o2);
    /* c0: corner (0,0) = (1+2+4+5)/4 = 3, edge (0,1) = (1+2+3+4+5+6)/6 = 3.5, centre 5 */
    static const float w_avg2[18] = {3, -3, 3.5f, -3.5f, 4, -4, 4.5f, -4.5f, 5, -5, 5.5f,
                                     -5.5f, 6, -6, 6.5f, -6.5f, 7, -7};
    vec_near(o2, w_avg2, 18, 1e-6, "avgpool same corner divides by 4, not 9");
    tlr_op_maxpool2d_ref(&q, in2, o2);
    /* negative channel: the padding (a zero if it were counted) must never win */
    static const float w_max2[18] = {5, -1, 6, -1, 6, -2, 8, -1, 9, -1, 9, -2, 8, -4, 9, -4,
                                     9, -5};
    vec_near(o2, w_max2, 18, 0, "maxpool same ignores padded cells");

    /* window that sees padding on one whole side: 2x2 input, k 2, stride 1, pad_top 1 */
    float in3[4] = {-4, -3, -2, -1};
    tlr_pool2d_params r = {.n = 1, .h = 2, .w = 2, .c = 1, .oh = 2, .ow = 2,
                           .kh = 2, .kw = 2, .sh = 1, .sw = 1, .pad_top = 1, .pad_left = 1};
    float o3[4];
    static const float w_max3[4] = {-4, -3, -2, -1};
    tlr_op_maxpool2d_ref(&r, in3, o3);
    vec_near(o3, w_max3, 4, 0, "maxpool window with a whole padded row and column");
    static const float w_avg3[4] = {-4, -3.5f, -3, -2.5f};
    tlr_op_avgpool2d(&r, in3, o3);
    vec_near(o3, w_avg3, 4, 1e-7, "avgpool window with a whole padded row and column");

    /* batch of 2: second image = first + 100 */
    float in4[32];
    for (int i = 0; i < 16; i++) {
        in4[i] = (float)(i + 1);
        in4[16 + i] = (float)(i + 101);
    }
    p.n = 2;
    float o4[8];
    static const float w_max4[8] = {11, 12, 15, 16, 111, 112, 115, 116};
    tlr_op_maxpool2d_ref(&p, in4, o4);
    vec_near(o4, w_max4, 8, 0, "maxpool batch 2");

    /* global pools: (2, 3, 2) */
    float g[12] = {1, -1, 2, -5, 6, 3, /* image 1 */ 0, 0, -1, 7, 4, 2};
    float gavg[4], gmax[4];
    static const float w_gavg[4] = {3, -1, 1, 3};
    static const float w_gmax[4] = {6, 3, 4, 7};
    tlr_op_global_avgpool_ref(2, 3, 2, g, gavg);
    tlr_op_global_maxpool(2, 3, 2, g, gmax);
    vec_near(gavg, w_gavg, 4, 1e-7, "global average pool");
    vec_near(gmax, w_gmax, 4, 0, "global max pool");
}

/* ---- normalisation -------------------------------------------------------------------- */

static void normalisation(void)
{
    static const float gamma[2] = {2, 0.5f}, beta[2] = {1, -1};
    static const float mean[2] = {0.5f, -1}, var[2] = {4, 0.25f};
    /* (2, 2) channels last: rows (1, -2) and (3, 0.5) */
    float x[4] = {1, -2, 3, 0.5f};
    static const float want[4] = {1.499937512f, -1.99800598f, 3.499687559f, 0.4970089701f};
    tlr_op_batchnorm(x, 2, 2, 1, gamma, beta, mean, var, 1e-3f);
    vec_near(x, want, 4, 1e-6, "batchnorm channels last");

    float y[4] = {1, -2, 3, 0.5f};
    static const float want_nb[4] = {0.2499687559f, -1.99601196f, 1.249843779f, 2.99401794f};
    tlr_op_batchnorm(y, 2, 2, 1, NULL, NULL, mean, var, 1e-3f);
    vec_near(y, want_nb, 4, 1e-6, "batchnorm scale=False center=False");

    /* channel axis in the middle: (1, 2, 2) holds channel 0 = (1, 3), channel 1 = (-2, 0.5) */
    float z[4] = {1, 3, -2, 0.5f};
    static const float want_mid[4] = {1.499937512f, 3.499687559f, -1.99800598f, 0.4970089701f};
    tlr_op_batchnorm(z, 1, 2, 2, gamma, beta, mean, var, 1e-3f);
    vec_near(z, want_mid, 4, 1e-6, "batchnorm channel axis in the middle");

    /* affine: y = x * scale + shift per channel */
    static const float scale[2] = {2, -1}, shift[2] = {0.5f, 10};
    float a[4] = {1, 2, 3, 4};
    static const float w_a[4] = {2.5f, 8, 6.5f, 6};
    tlr_op_channel_affine(a, 2, 2, 1, scale, shift);
    vec_near(a, w_a, 4, 0, "channel affine");
    float b[4] = {1, 2, 3, 4};
    static const float w_b[4] = {2, -2, 6, -4};
    tlr_op_channel_affine(b, 2, 2, 1, scale, NULL);
    vec_near(b, w_b, 4, 0, "channel affine, no shift");
    float c[4] = {1, 2, 3, 4}; /* (1, 2, 2): channel 0 = (1, 2), channel 1 = (3, 4) */
    static const float w_c[4] = {1.5f, 2.5f, 13, 14};
    tlr_op_channel_affine(c, 1, 2, 2, NULL, shift);
    vec_near(c, w_c, 4, 0, "channel affine, shift only, channel in the middle");
    float d[2] = {3, 4};
    static const float s1 = 1.0f / 255.0f, o1 = -1.0f;
    tlr_op_channel_affine(d, 2, 1, 1, &s1, &o1);
    NEAR(d[0], 3.0 / 255.0 - 1.0, 1e-7, "rescaling scalar 1/255 - 1");
    float e[2] = {3, 4};
    tlr_op_channel_affine(e, 1, 1, 2, NULL, NULL);
    OK(e[0] == 3 && e[1] == 4, "affine with neither is identity");
}

/* ---- merges --------------------------------------------------------------------------- */

static void merges(void)
{
    static const float a[4] = {1, -2, 3, 0.5f}, b[4] = {2, 5, -1, 0.25f}, c[4] = {4, 1, 1, -8};
    const float *three[3] = {a, b, c};
    float out[4];
    static const float w_add[4] = {7, 4, 3, -7.25f};
    static const float w_mul[4] = {8, -10, -3, -1};
    static const float w_avg[4] = {7.0f / 3, 4.0f / 3, 1, -7.25f / 3};
    static const float w_max[4] = {4, 5, 3, 0.5f};
    static const float w_min[4] = {1, -2, -1, -8};
    static const float w_sub[4] = {-1, -7, 4, 0.25f};
    tlr_op_merge(TLR_MERGE_ADD, three, 3, 4, out);
    vec_near(out, w_add, 4, 0, "Add of 3");
    tlr_op_merge(TLR_MERGE_MULTIPLY, three, 3, 4, out);
    vec_near(out, w_mul, 4, 0, "Multiply of 3");
    tlr_op_merge(TLR_MERGE_AVERAGE, three, 3, 4, out);
    vec_near(out, w_avg, 4, 1e-7, "Average of 3");
    tlr_op_merge(TLR_MERGE_MAXIMUM, three, 3, 4, out);
    vec_near(out, w_max, 4, 0, "Maximum of 3");
    tlr_op_merge(TLR_MERGE_MINIMUM, three, 3, 4, out);
    vec_near(out, w_min, 4, 0, "Minimum of 3");
    tlr_op_merge(TLR_MERGE_SUBTRACT, three, 2, 4, out);
    vec_near(out, w_sub, 4, 0, "Subtract a - b");

    /* output may be the first input (in-place add) */
    float acc[4] = {1, 2, 3, 4};
    const float *two[2] = {acc, a};
    static const float w_inpl[4] = {2, 0, 6, 4.5f};
    tlr_op_merge(TLR_MERGE_ADD, two, 2, 4, acc);
    vec_near(acc, w_inpl, 4, 0, "Add into the first input");

    /* concat on the middle axis: A (2,1,2), B (2,2,2) -> (2,3,2) */
    static const float ca[4] = {1, 2, 3, 4};
    static const float cb[8] = {10, 11, 12, 13, 14, 15, 16, 17};
    const float *parts[2] = {ca, cb};
    static const int64_t lens[2] = {1, 2};
    float cat[12];
    static const float w_cat[12] = {1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17};
    tlr_op_concat(parts, lens, 2, 2, 2, cat);
    vec_near(cat, w_cat, 12, 0, "concat middle axis");
    /* last axis (inner 1): (2, 2) ++ (2, 1) */
    static const float la[4] = {1, 2, 3, 4}, lb[2] = {9, 8};
    const float *lparts[2] = {la, lb};
    static const int64_t llens[2] = {2, 1};
    float lcat[6];
    static const float w_lcat[6] = {1, 2, 9, 3, 4, 8};
    tlr_op_concat(lparts, llens, 2, 2, 1, lcat);
    vec_near(lcat, w_lcat, 6, 0, "concat last axis");
}

/* ---- layout --------------------------------------------------------------------------- */

static void pad_crop_upsample(void)
{
    /* (1,2,2,1) [[1,2],[3,4]] padded top 1, right 2 -> (1,3,4,1) */
    static const float in[4] = {1, 2, 3, 4};
    float pad[12];
    for (int i = 0; i < 12; i++)
        pad[i] = 99; /* garbage the op must overwrite */
    static const float w_pad[12] = {0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0};
    tlr_op_pad2d(1, 2, 2, 1, 1, 0, 0, 2, in, pad);
    vec_near(pad, w_pad, 12, 0, "pad2d top 1 right 2");
    /* 2 channels, symmetric pad 1 -> (1,4,4,2): check the border and a moved pixel */
    static const float in2[8] = {1, -1, 2, -2, 3, -3, 4, -4};
    float pad2[32];
    tlr_op_pad2d(1, 2, 2, 2, 1, 1, 1, 1, in2, pad2);
    OK(pad2[0] == 0 && pad2[31] == 0 && pad2[(1 * 4 + 1) * 2] == 1 &&
           pad2[(2 * 4 + 2) * 2 + 1] == -4,
       "pad2d 2 channels");

    /* crop (1,3,4,1) 1..12 by 1 on every side -> (1,1,2,1) = {6, 7} */
    float src[12];
    for (int i = 0; i < 12; i++)
        src[i] = (float)(i + 1);
    float crop[2];
    static const float w_crop[2] = {6, 7};
    tlr_op_crop2d(1, 3, 4, 1, 1, 1, 1, 1, src, crop);
    vec_near(crop, w_crop, 2, 0, "crop2d");
    float crop2[6]; /* top 0 bottom 1 left 2 right 0 -> rows 0,1 cols 2,3 ... of 1..12 */
    static const float w_crop2[4] = {3, 4, 7, 8};
    tlr_op_crop2d(1, 3, 4, 1, 0, 1, 2, 0, src, crop2);
    vec_near(crop2, w_crop2, 4, 0, "crop2d asymmetric");

    /* upsample (1,2,2,1) by (2,3) -> (1,4,6,1) */
    float up[24];
    static const float w_up[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                   3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
    tlr_op_upsample_nearest(1, 2, 2, 1, 2, 3, in, up);
    vec_near(up, w_up, 24, 0, "upsample nearest 2x3");
    /* batch 2, 2 channels, factor 2: pixel (b, y, x, ch) of the output = input (b, y/2, x/2) */
    float uin[2 * 2 * 2 * 2], uout[2 * 4 * 4 * 2];
    for (int i = 0; i < 16; i++)
        uin[i] = (float)i;
    tlr_op_upsample_nearest(2, 2, 2, 2, 2, 2, uin, uout);
    int okup = 1;
    for (int b = 0; b < 2; b++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
                for (int ch = 0; ch < 2; ch++)
                    if (uout[((b * 4 + y) * 4 + x) * 2 + ch] !=
                        uin[((b * 2 + y / 2) * 2 + x / 2) * 2 + ch])
                        okup = 0;
    OK(okup, "upsample nearest batch 2, 2 channels");
}

static void resize(void)
{
    /* bilinear 2x2 -> 4x4 (the well-known tf.image.resize result) */
    static const float a[4] = {1, 2, 3, 4};
    float o[16];
    static const float w_a[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                                  2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
    tlr_op_resize2d(TLR_RESIZE_BILINEAR, 1, 2, 2, 1, 4, 4, a, o);
    vec_near(o, w_a, 16, 1e-6, "bilinear 2x2 -> 4x4");

    /* bilinear 4x4 -> 3x3 (downscale, src = (i + 0.5) * 4/3 - 0.5) */
    static const float b[16] = {1, 2, 4, 8, 0, 1, 0, -1, 5, 3, 2, 1, 9, 7, -2, 6};
    float ob[9];
    static const float w_b[9] = {1, 2.583333333f, 5.972222222f, 2.416666667f, 1.5f,
                                 0.1666666667f, 8, 2.5f, 4.083333333f};
    tlr_op_resize2d(TLR_RESIZE_BILINEAR, 1, 4, 4, 1, 3, 3, b, ob);
    vec_near(ob, w_b, 9, 2e-6, "bilinear 4x4 -> 3x3");

    /* bilinear 1x3 -> 1x5, 2 channels (channel 1 = 10 * channel 0) */
    static const float c[6] = {1, 10, 4, 40, 2, 20};
    float oc[10];
    static const float w_c[10] = {1, 10, 2.2f, 22, 4, 40, 2.8f, 28, 2, 20};
    tlr_op_resize2d(TLR_RESIZE_BILINEAR, 1, 1, 3, 2, 1, 5, c, oc);
    vec_near(oc, w_c, 10, 2e-6, "bilinear 1x3 -> 1x5, 2 channels");

    /* nearest: 4 -> 3 picks rows/cols 0, 2, 3; 3 -> 5 picks 0, 0, 1, 2, 2 */
    float on[9];
    static const float w_n[9] = {1, 4, 8, 5, 2, 1, 9, -2, 6};
    tlr_op_resize2d(TLR_RESIZE_NEAREST, 1, 4, 4, 1, 3, 3, b, on);
    vec_near(on, w_n, 9, 0, "nearest 4x4 -> 3x3");
    static const float r3[3] = {7, 8, 9};
    float o5[5];
    static const float w_5[5] = {7, 7, 8, 9, 9};
    tlr_op_resize2d(TLR_RESIZE_NEAREST, 1, 1, 3, 1, 1, 5, r3, o5);
    vec_near(o5, w_5, 5, 0, "nearest 1x3 -> 1x5");
    /* nearest with an integer factor equals UpSampling2D repetition */
    float o44[16], rep[16];
    tlr_op_resize2d(TLR_RESIZE_NEAREST, 1, 2, 2, 1, 4, 4, a, o44);
    tlr_op_upsample_nearest(1, 2, 2, 1, 2, 2, a, rep);
    vec_near(o44, rep, 16, 0, "nearest 2x -> same as repeat");
    /* same size is a copy */
    float same[4];
    tlr_op_resize2d(TLR_RESIZE_BILINEAR, 1, 2, 2, 1, 2, 2, a, same);
    vec_near(same, a, 4, 0, "same-size resize copies");
}

/* Reference transpose by explicit index math for small ranks. */
static void transposes(void)
{
    /* 3-D (2,3,4) perm (2,0,1) -> (4,2,3): out[k][i][j] = in[i][j][k] */
    float in3[24], out3[24];
    for (int i = 0; i < 24; i++)
        in3[i] = (float)i;
    static const int64_t s3[3] = {2, 3, 4};
    static const int p3[3] = {2, 0, 1};
    tlr_tensor_transpose(3, s3, p3, in3, out3);
    int ok3 = 1;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                if (out3[(k * 2 + i) * 3 + j] != in3[(i * 3 + j) * 4 + k])
                    ok3 = 0;
    OK(ok3, "transpose 3-D perm (2,0,1)");
    /* spot values: out[1][0][0] = in[0][0][1] = 1, out[3][1][2] = in[1][2][3] = 23 */
    OK(out3[(1 * 2 + 0) * 3 + 0] == 1 && out3[(3 * 2 + 1) * 3 + 2] == 23, "transpose 3-D spots");

    /* (1,0,2) keeps the last axis contiguous */
    static const int p3b[3] = {1, 0, 2};
    tlr_tensor_transpose(3, s3, p3b, in3, out3);
    int ok3b = 1;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                if (out3[(j * 2 + i) * 4 + k] != in3[(i * 3 + j) * 4 + k])
                    ok3b = 0;
    OK(ok3b, "transpose 3-D perm (1,0,2)");

    /* 4-D (2,3,4,5): perms (0,3,1,2) and (3,2,1,0) */
    enum { A = 2, B = 3, C = 4, D = 5 };
    float in4[A * B * C * D], out4[A * B * C * D];
    for (int i = 0; i < A * B * C * D; i++)
        in4[i] = (float)i;
    static const int64_t s4[4] = {A, B, C, D};
    static const int p4a[4] = {0, 3, 1, 2};
    tlr_tensor_transpose(4, s4, p4a, in4, out4);
    int ok4a = 1;
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int d = 0; d < D; d++)
                    if (out4[((a * D + d) * B + b) * C + c] != in4[((a * B + b) * C + c) * D + d])
                        ok4a = 0;
    OK(ok4a, "transpose 4-D perm (0,3,1,2)");
    static const int p4b[4] = {3, 2, 1, 0};
    tlr_tensor_transpose(4, s4, p4b, in4, out4);
    int ok4b = 1;
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int d = 0; d < D; d++)
                    if (out4[((d * C + c) * B + b) * A + a] != in4[((a * B + b) * C + c) * D + d])
                        ok4b = 0;
    OK(ok4b, "transpose 4-D perm (3,2,1,0)");
    static const int id4[4] = {0, 1, 2, 3};
    tlr_tensor_transpose(4, s4, id4, in4, out4);
    vec_near(out4, in4, A * B * C * D, 0, "transpose identity");
    /* 2-D matrix transpose */
    static const float m[6] = {1, 2, 3, 4, 5, 6};
    static const int64_t sm[2] = {2, 3};
    static const int pm[2] = {1, 0};
    float mt[6];
    static const float w_mt[6] = {1, 4, 2, 5, 3, 6};
    tlr_tensor_transpose(2, sm, pm, m, mt);
    vec_near(mt, w_mt, 6, 0, "transpose 2-D");
}

/* Big enough to notice a pathological loop (150x150x64, as in the brief's models). */
static void large_tensors(void)
{
    const int64_t h = 150, w = 150, c = 64, n = h * w * c;
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)(75 * 75 * c) * sizeof *y);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(i % 97) * 0.01f - 0.3f;
    tlr_pool2d_params p = {.n = 1, .h = h, .w = w, .c = c, .oh = 75, .ow = 75,
                           .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pad_top = 0, .pad_left = 0};
    tlr_op_maxpool2d_ref(&p, x, y);
    tlr_op_avgpool2d(&p, x, y);
    tlr_act_params sw = {.kind = TLR_ACT_SWISH};
    tlr_op_activation(&sw, x, n, c);
    float g[64];
    tlr_op_global_avgpool_ref(1, h * w, c, x, g);
    OK(isfinite(g[0]) && isfinite(y[0]), "large tensors run");
    free(x);
    free(y);
}

void test_ops_misc(void)
{
    act_names();
    activations_elementwise();
    activations_softmax();
    relu_layer();
    prelu();
    pooling();
    normalisation();
    merges();
    pad_crop_upsample();
    resize();
    transposes();
    large_tensors();
}
