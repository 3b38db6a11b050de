/* fusion.c - which layers the executor folds into the convolution before or after them:
 * a ZeroPadding2D before a 'valid' convolution (deferred padding), and a BatchNormalization,
 * an Add of a residual branch and a ReLU after one (chains).  Decided while planning; only
 * the Add's other branch is checked at run time (tlr_fusion_post). */
#include "engine/exec.h"

#include <math.h>
#include <stdlib.h>

#include "base/xalloc.h"

/* The one layer reading output (i, call 0, tensor 0), and in *slot the input it reads it as;
 * -1 when that is not exactly one single-call layer with at most 'max_in' inputs (several
 * readers, a model output, a capture). */
static int sole_reader(const tlr_exec *X, const tlr_plan *p, const tlr_first_reader *fr, int i,
                       int max_in, int *slot)
{
    const tlr_model *m = p->m;
    if (p->values[p->first[i]].readers[0] != 1)
        return -1;
    for (int k = 0; k < X->n_caps; k++)
        if (X->caps[k].owner == m && X->caps[k].layer == i)
            return -1;
    if (fr[i].layer < 0)
        return -1; /* read as a model output */
    int j = fr[i].layer;
    const tlr_layer *l = &m->layers[j];
    *slot = fr[i].slot;
    /* a layer that cannot run is never folded into a convolution */
    return l->n_calls == 1 && l->calls[fr[i].call].n_in <= max_in &&
           p->values[p->first[j]].needed && !l->cannot_run ? j : -1;
}

/* A plain ReLU / ReLU6 as a clamp; 0 when the layer is something else. */
static int relu_clamp(const tlr_layer *l, float *hi)
{
    const tlr_act_params *a = &l->cfg.act.act;
    if (l->op == TLR_OP_RELU && a->alpha == 0.0f && a->threshold == 0.0f) {
        *hi = a->max_value >= 0.0f ? a->max_value : INFINITY;
        return 1;
    }
    if (l->op == TLR_OP_ACTIVATION && a->kind == TLR_ACT_RELU6) {
        *hi = 6.0f;
        return 1;
    }
    if (l->op == TLR_OP_ACTIVATION && a->kind == TLR_ACT_RELU && a->alpha == 0.0f &&
        a->threshold == 0.0f && !(a->max_value > 0.0f)) {
        *hi = INFINITY;
        return 1;
    }
    return 0;
}

/* BatchNormalization 'b' after a convolution of 'c' channels as a scale and shift (2 * c
 * floats, the caller frees); NULL when it does not fold (weights missing, another axis). */
static float *bn_fold(const tlr_layer *b, int64_t c)
{
    const float *mean = tlr_exec_weight(b, "moving_mean");
    const float *var = tlr_exec_weight(b, "moving_variance");
    const float *gamma = b->cfg.bn.scale ? tlr_exec_weight(b, "gamma") : NULL;
    const float *beta = b->cfg.bn.center ? tlr_exec_weight(b, "beta") : NULL;
    int nd = b->calls[0].out[0].ndim;
    if (!mean || !var || (b->cfg.bn.scale && !gamma) || (b->cfg.bn.center && !beta) ||
        tlr_exec_axis(b->cfg.bn.axis, nd) != nd - 1 || c <= 0)
        return NULL;
    /* the same factor as tlr_op_batchnorm: y = (x - mean) * factor + beta */
    float *sc = tlr_xmalloc(2 * (size_t)c * sizeof *sc), *sh = sc + c;
    for (int64_t k = 0; k < c; k++) {
        float inv = 1.0f / sqrtf(var[k] + b->cfg.bn.epsilon);
        sc[k] = gamma ? inv * gamma[k] : inv;
        sh[k] = (float)((beta ? (double)beta[k] : 0.0) - (double)mean[k] * (double)sc[k]);
    }
    return sc;
}

static int is_conv_head(const tlr_layer *l)
{
    return (l->op == TLR_OP_CONV || l->op == TLR_OP_DEPTHWISE_CONV) && l->n_calls == 1 &&
           !l->cfg.conv.channels_first && l->cfg.conv.act.kind == TLR_ACT_LINEAR &&
           l->cfg.conv.rank == 2;
}

/* A channels_last Conv2D / DepthwiseConv2D (linear) whose output only feeds a
 * BatchNormalization over its channels, then only an Add of another branch, then only a
 * ReLU (each optional, in that order) runs as one op. */
int tlr_fusion_chain(const tlr_exec *X, const tlr_plan *p, const tlr_first_reader *fr,
                     int layer, tlr_chain *ch)
{
    const tlr_model *m = p->m;
    *ch = (tlr_chain){ .layer = { layer }, .n = 1 };
    if (!is_conv_head(&m->layers[layer]))
        return 0;
    const tlr_shape *os = &m->layers[layer].calls[0].out[0];
    int slot, j = sole_reader(X, p, fr, layer, 1, &slot);
    if (j >= 0 && m->layers[j].op == TLR_OP_BATCHNORM) {
        if (!(ch->scale = bn_fold(&m->layers[j], os->d[os->ndim - 1])))
            return 0;
        ch->layer[ch->n++] = j;
        j = sole_reader(X, p, fr, j, 2, &slot);
    }
    const tlr_layer *a = j >= 0 ? &m->layers[j] : NULL;
    if (a && a->op == TLR_OP_MERGE && a->cfg.merge.kind == TLR_MERGE_ADD &&
        a->calls[0].n_in == 2) {
        ch->add = ch->n;
        ch->add_other = &a->calls[0].in[1 - slot];
        ch->layer[ch->n++] = j;
        j = sole_reader(X, p, fr, j, 1, &slot);
    } else if (a && a->calls[0].n_in != 1) {
        j = -1;
    }
    if (j >= 0 && relu_clamp(&m->layers[j], &ch->hi)) {
        ch->clamp = 1;
        ch->layer[ch->n++] = j;
    }
    if (ch->n > 1)
        return 1;
    free(ch->scale);
    ch->scale = NULL;
    return 0;
}

int tlr_fusion_chain_of(const tlr_exec *X, tlr_plan *p, tlr_first_reader *fr, int layer)
{
    if (fr[layer].chain == -2) {
        tlr_chain ch;
        fr[layer].chain = -1;
        if (tlr_fusion_chain(X, p, fr, layer, &ch)) {
            fr[layer].chain = p->n_chains;
            p->chains[p->n_chains++] = ch;
        }
    }
    return fr[layer].chain;
}

int tlr_fusion_post(const tlr_chain *ch, const tlr_shape *out, const tlr_tensor *other,
                    tlr_conv_post *post)
{
    *post = (tlr_conv_post){ .clamp = 0 };
    int n = ch->n;
    if (ch->add) {
        /* the other branch must be computed already, in the convolution's shape */
        int same = other && other->ndim == out->ndim;
        for (int d = 1; same && d < out->ndim; d++)
            same = other->shape[d] == out->d[d];
        if (same)
            post->residual = other->data; /* x + h: one addition, in either order */
        else
            n = ch->add;
    }
    if (ch->scale) {
        post->scale = ch->scale;
        post->shift = ch->scale + out->d[out->ndim - 1];
    }
    if (ch->clamp && n == ch->n) {
        post->clamp = 1;
        post->lo = 0.0f;
        post->hi = ch->hi;
    }
    return n;
}

/* A channels_last ZeroPadding2D whose output only feeds a 'valid' channels_last Conv2D /
 * DepthwiseConv2D is not made: the convolution reads the unpadded input and counts the
 * padding as its own (taps outside the image read zeros), saving a copy of the image. */
int tlr_fusion_pad_defer(const tlr_exec *X, const tlr_plan *p, const tlr_first_reader *fr,
                         int layer)
{
    const tlr_layer *l = &p->m->layers[layer];
    if (l->op != TLR_OP_ZEROPAD || l->n_calls != 1 || l->calls[0].n_in != 1 ||
        l->cfg.pad.channels_first || l->cfg.pad.rank != 2)
        return 0;
    int slot, j = sole_reader(X, p, fr, layer, 1, &slot);
    if (j < 0)
        return 0;
    const tlr_layer *k = &p->m->layers[j];
    return (k->op == TLR_OP_CONV || k->op == TLR_OP_DEPTHWISE_CONV) &&
           !k->cfg.conv.channels_first && k->cfg.conv.rank == 2 &&
           k->cfg.conv.padding == TLR_PAD_VALID;
}

/* ---- inverted residual blocks ---------------------------------------------------------------- */

static int is_pointwise(const tlr_layer *l)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    return l->op == TLR_OP_CONV && is_conv_head(l) && k->kernel[0] == 1 && k->kernel[1] == 1 &&
           k->strides[0] == 1 && k->strides[1] == 1 && k->dilation[0] == 1 &&
           k->dilation[1] == 1 && k->groups == 1;
}

static int is_depthwise3x3(const tlr_layer *l)
{
    const tlr_conv_cfg *k = &l->cfg.conv;
    return l->op == TLR_OP_DEPTHWISE_CONV && is_conv_head(l) && k->kernel[0] == 3 &&
           k->kernel[1] == 3 && k->strides[0] == k->strides[1] &&
           (k->strides[0] == 1 || k->strides[0] == 2) && k->dilation[0] == 1 &&
           k->dilation[1] == 1 && k->depth_multiplier == 1 &&
           (k->padding == TLR_PAD_VALID || k->padding == TLR_PAD_SAME);
}

/* Convolution 'layer' with what folds into it (a chain, or the convolution alone) as part
 * 'k' of 'b'; the layer after it that reads its result, -1 when none may fold in. */
static int block_part(const tlr_exec *X, tlr_plan *p, tlr_first_reader *fr, int layer, int k,
                      tlr_block *b)
{
    tlr_chain *ch = &b->part[k];
    int c = tlr_fusion_chain_of(X, p, fr, layer);
    *ch = c >= 0 ? p->chains[c] : (tlr_chain){ .layer = { layer }, .n = 1 };
    for (int i = 0; i < ch->n; i++)
        b->layer[b->n++] = ch->layer[i];
    int slot;
    return ch->add ? -1 : sole_reader(X, p, fr, ch->layer[ch->n - 1], 1, &slot);
}

/* Part k's bias folded into its shift as tlr_op_conv2d_post does it (merge_bias in
 * ops_conv.c); 0 when the bias is not loaded. */
static int block_bias(const tlr_plan *p, tlr_block *b, int k)
{
    const tlr_layer *l = &p->m->layers[b->part[k].layer[0]];
    if (!l->cfg.conv.use_bias)
        return 1;
    const float *bias = tlr_exec_weight(l, "bias");
    const tlr_shape *os = &l->calls[0].out[0];
    int64_t c = os->d[os->ndim - 1];
    if (!bias || c <= 0)
        return 0;
    const float *scale = b->part[k].scale, *shift = scale ? scale + c : NULL;
    b->shift[k] = tlr_xmalloc((size_t)c * sizeof *b->shift[k]);
    for (int64_t i = 0; i < c; i++) {
        float v = scale ? bias[i] * scale[i] : bias[i];
        b->shift[k][i] = shift ? v + shift[i] : v;
    }
    return 1;
}

/* The layers of the block from its depthwise 'j' on (after the expand, if any); 0 when they
 * do not make one. */
static int block_rest(const tlr_exec *X, tlr_plan *p, tlr_first_reader *fr, int j,
                      tlr_block *b)
{
    const tlr_model *m = p->m;
    if (j < 0 || !is_depthwise3x3(&m->layers[j]))
        return 0;
    j = block_part(X, p, fr, j, 1, b);
    if (j < 0 || !is_pointwise(&m->layers[j]))
        return 0;
    block_part(X, p, fr, j, 2, b);
    for (int k = 0; k < 3; k++)
        if (b->part[k].n && !block_bias(p, b, k))
            return 0;
    return 1;
}

/* Conv2D 1x1 -> [BatchNormalization] -> [ReLU] -> [ZeroPadding2D] -> DepthwiseConv2D 3x3 ->
 * [BatchNormalization] -> [ReLU] -> Conv2D 1x1 -> [BatchNormalization] -> [Add] -> [ReLU],
 * each value read only by the next layer, or the same from the depthwise on (a block
 * without expand, maybe reading a deferred padding 'pad'). */
int tlr_fusion_block(const tlr_exec *X, tlr_plan *p, tlr_first_reader *fr, int layer,
                     const tlr_pad_cfg *pad, tlr_block *b)
{
    const tlr_model *m = p->m;
    *b = (tlr_block){ .n = 0 };
    int j = layer, ok = 0;
    if (X->no_blocks)
        return 0;
    if (is_pointwise(&m->layers[layer]) && !pad) {
        j = block_part(X, p, fr, layer, 0, b);
        const tlr_layer *l = j >= 0 ? &m->layers[j] : NULL;
        if (l && l->op == TLR_OP_ZEROPAD && l->calls[0].n_in == 1 && !l->cfg.pad.channels_first &&
            l->cfg.pad.rank == 2) {
            memcpy(b->pad, l->cfg.pad.amount, sizeof b->pad);
            b->layer[b->n++] = j;
            int slot;
            j = sole_reader(X, p, fr, j, 1, &slot);
        }
        ok = block_rest(X, p, fr, j, b);
    } else if (is_depthwise3x3(&m->layers[layer])) {
        if (pad)
            memcpy(b->pad, pad->amount, sizeof b->pad);
        ok = block_rest(X, p, fr, layer, b);
    }
    if (!ok)
        tlr_fusion_block_free(b);
    return ok;
}

void tlr_fusion_block_free(tlr_block *b)
{
    for (int k = 0; k < 3; k++)
        free(b->shift[k]);
    *b = (tlr_block){ .n = 0 };
}
