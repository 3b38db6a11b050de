/* exec_block.c - runs an inverted residual block (tlr_block, planned by fusion.c) as one
 * kern_mbconv call: the shapes, weights and folded post-ops of its three convolutions. */
#include "engine/exec.h"

#include <stdlib.h>

#include "base/xalloc.h"
#include "engine/kern_mbconv.h"

/* The weight 'role' of part k's convolution when its shape is (d0, d1, d2, d3); NULL when
 * it is not loaded or has another shape. */
static const float *part_weight(const tlr_plan *p, const tlr_block *b, int k, const char *role,
                                int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    const tlr_layer *l = &p->m->layers[b->part[k].layer[0]];
    for (int i = 0; i < l->n_weights; i++) {
        const tlr_weight *w = &l->weights[i];
        if (strcmp(w->role, role) == 0)
            return w->data && w->ndim == 4 && w->shape[0] == d0 && w->shape[1] == d1 &&
                   w->shape[2] == d2 && w->shape[3] == d3 ? w->data : NULL;
    }
    return NULL;
}

/* Part k's post-op over 'c' channels: its chain's scale, its shift with the bias folded in,
 * its clamp when the chain ends in a ReLU and runs to its end ('whole'). */
static tlr_conv_post part_post(const tlr_block *b, int k, int64_t c, int whole)
{
    const tlr_chain *ch = &b->part[k];
    tlr_conv_post post = { .scale = ch->scale, .shift = ch->scale ? ch->scale + c : NULL };
    if (b->shift[k])
        post.shift = b->shift[k];
    if (ch->clamp && whole) {
        post.clamp = 1;
        post.hi = ch->hi;
    }
    return post;
}

/* The depthwise's output size and padding before, for an input of 'in' along one axis:
 * the block's ZeroPadding2D, then the layer's own 'same' padding (TensorFlow's rule). */
static int64_t dw_out(const tlr_conv_cfg *k, int64_t in, int before, int after, int *pad)
{
    int64_t padded = in + before + after, s = k->strides[0], out;
    *pad = before;
    if (k->padding == TLR_PAD_VALID)
        return padded >= 3 ? (padded - 3) / s + 1 : 0;
    out = (padded + s - 1) / s;
    int64_t total = (out - 1) * s + 3 - padded;
    *pad += total > 0 ? (int)(total / 2) : 0;
    return out;
}

/* The kernel's parameters for 'x'; 0 when the block does not apply (a shape or a weight
 * that does not fit, or products the band kernels do not take: its layers then run one by
 * one, their values counted against the memory budget, and report any error). */
static int block_params(const tlr_plan *p, const tlr_block *b, const tlr_tensor *x,
                        tlr_mbconv_params *mp)
{
    const tlr_model *m = p->m;
    const tlr_layer *dw = &m->layers[b->part[1].layer[0]];
    const tlr_layer *pj = &m->layers[b->part[2].layer[0]];
    if (x->ndim != 4)
        return 0;
    *mp = (tlr_mbconv_params){ .n = x->shape[0], .h = x->shape[1], .w = x->shape[2],
                               .cin = x->shape[3], .cout = pj->cfg.conv.filters,
                               .stride = dw->cfg.conv.strides[0] };
    mp->cexp = b->part[0].n ? m->layers[b->part[0].layer[0]].cfg.conv.filters : mp->cin;
    mp->oh = dw_out(&dw->cfg.conv, mp->h, b->pad[0], b->pad[1], &mp->pad_top);
    mp->ow = dw_out(&dw->cfg.conv, mp->w, b->pad[2], b->pad[3], &mp->pad_left);
    if (mp->n < 0 || mp->h <= 0 || mp->w <= 0 || mp->cin <= 0 || mp->cexp <= 0 ||
        mp->cout <= 0 || mp->oh <= 0 || mp->ow <= 0)
        return 0;
    if (b->part[0].n &&
        !(mp->expand = part_weight(p, b, 0, "kernel", 1, 1, mp->cin, mp->cexp)))
        return 0;
    mp->depthwise = part_weight(p, b, 1, "depthwise_kernel", 3, 3, mp->cexp, 1);
    mp->project = part_weight(p, b, 2, "kernel", 1, 1, mp->cexp, mp->cout);
    if (!mp->depthwise || !mp->project)
        return 0;
    mp->expand_post = part_post(b, 0, mp->cexp, 1);
    mp->depthwise_post = part_post(b, 1, mp->cexp, 1);
    return tlr_kern_mbconv_banded(mp);
}

/* How many layers the project part computes: up to its Add only when 'other' is there in
 * the output's shape (as tlr_fusion_post decides for a chain). */
static int project_len(const tlr_chain *ch, const tlr_mbconv_params *mp, const tlr_tensor *other)
{
    if (!ch->add)
        return ch->n;
    int same = other && other->ndim == 4 && other->shape[0] == mp->n &&
               other->shape[1] == mp->oh && other->shape[2] == mp->ow &&
               other->shape[3] == mp->cout;
    return same ? ch->n : ch->add;
}

tlr_status tlr_exec_block(tlr_exec *X, const tlr_plan *p, const tlr_block *b,
                          const tlr_tensor *x, const tlr_tensor *other, tlr_block_run *r)
{
    *r = (tlr_block_run){ 0 };
    tlr_mbconv_params mp;
    if (!block_params(p, b, x, &mp))
        return TLR_OK;
    const tlr_chain *pc = &b->part[2];
    int n_proj = project_len(pc, &mp, other);
    mp.project_post = part_post(b, 2, mp.cout, n_proj == pc->n);
    if (pc->add && n_proj == pc->n)
        mp.project_post.residual = other->data;
    int last = pc->layer[n_proj - 1];
    tlr_shape ys = { 4, { mp.n, mp.oh, mp.ow, mp.cout } };
    const char *path = p->paths[last] ? p->paths[last] : p->m->layers[last].name;
    if (!(r->y = tlr_exec_new(X, &ys, path)))
        return X->err->code;
    tlr_kern_mbconv(&mp, x->data, r->y->data);
    r->n = b->n - (pc->n - n_proj);
    r->flops = 2 * mp.n * (mp.h * mp.w * mp.cin * (mp.expand ? mp.cexp : 0) +
                           mp.oh * mp.ow * mp.cexp * (9 + mp.cout));
    return TLR_OK;
}

char *tlr_exec_block_name(const tlr_plan *p, const tlr_block *b, int n, const char *path)
{
    return tlr_xasprintf("%s..%s", path, p->m->layers[b->layer[n - 1]].name);
}
