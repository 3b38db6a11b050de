/* kern_mbconv.c - the fused inverted residual block (kern_mbconv.h): bands of output rows,
 * each thread on contiguous bands with its expanded rows in a scratch buffer that slides
 * down the image. */
#include "engine/kern_mbconv.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/threads.h"
#include "base/xalloc.h"
#include "engine/kern_depthwise.h"
#include "engine/kern_pointwise.h"

/* Expanded rows one band reads: with the depthwise outputs, a thread's share of L2. */
#define MB_BAND_BYTES ((int64_t)192 << 10)

/* Below this many multiply-adds the block stays on one thread (as the ops it fuses). */
#define MB_PARALLEL_MIN_MACS ((int64_t)1 << 17)

/* The scratch slot of the band buffers (kern_pointwise takes slot 2, the GEMM 0 and 1). */
#define MB_SCRATCH_SLOT 3

typedef struct {
    const tlr_mbconv_params *m;
    const float *x;
    float *y;
    int64_t band;      /* output rows per band */
    int64_t per_image; /* bands per image */
} mb_job;

/* What a thread keeps between bands: expanded rows [first, first + have) of image 'img'. */
typedef struct {
    float *e, *d;      /* expanded rows (row_len floats each); one band's depthwise output */
    int64_t img, first, have;
} mb_state;

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The depthwise input rows [a, b) of image 'img' in st->e, expanding only the rows the last
 * band did not leave there. */
static void expand_rows(const mb_job *J, mb_state *st, int64_t img, int64_t a, int64_t b, int tid)
{
    const tlr_mbconv_params *m = J->m;
    int64_t row_len = m->w * m->cexp;
    if (img != st->img || a < st->first || a > st->first + st->have) {
        st->img = img;
        st->first = a;
        st->have = 0;
    } else if (a > st->first) { /* the overlap with the last band moves to the front */
        int64_t drop = a - st->first;
        memmove(st->e, st->e + drop * row_len, (size_t)((st->have - drop) * row_len) * sizeof *st->e);
        st->have -= drop;
        st->first = a;
    }
    int64_t from = st->first + st->have;
    if (from < b)
        tlr_kern_pointwise_serial((b - from) * m->w, m->cin, m->cexp,
                                  J->x + (img * m->h + from) * m->w * m->cin, m->cin, m->expand,
                                  m->cexp, &m->expand_post, st->e + st->have * row_len, m->cexp,
                                  tid);
    if (b > st->first + st->have)
        st->have = b - st->first;
}

/* Output rows [oy0, oy1) of image 'img'. */
static void run_band(const mb_job *J, mb_state *st, int64_t img, int64_t oy0, int64_t oy1, int tid)
{
    const tlr_mbconv_params *m = J->m;
    int64_t s = m->stride, a = oy0 * s - m->pad_top, b = (oy1 - 1) * s - m->pad_top + 3;
    a = a < 0 ? 0 : a > m->h ? m->h : a;
    b = b > m->h ? m->h : b < a ? a : b;
    const float *src;
    if (m->expand) {
        expand_rows(J, st, img, a, b, tid);
        src = st->e;
    } else {
        src = J->x + (img * m->h + a) * m->w * m->cin;
    }
    /* the rows [a, b) as an image of their own: its padding on top is what is left of the
     * block's above row a */
    tlr_conv2d_params p = { .n = 1, .h = b - a, .w = m->w, .cin = m->cexp, .oh = oy1 - oy0,
                            .ow = m->ow, .cout = m->cexp, .kh = 3, .kw = 3, .sh = (int)s,
                            .sw = (int)s, .dh = 1, .dw = 1,
                            .pad_top = (int)(a - (oy0 * s - m->pad_top)),
                            .pad_left = m->pad_left, .groups = 1 };
    tlr_kern_depthwise_rows(&p, src, m->depthwise, &m->depthwise_post, st->d, 0, oy1 - oy0);
    int64_t pix0 = (img * m->oh + oy0) * m->ow;
    tlr_conv_post pp = m->project_post;
    if (pp.residual)
        pp.residual += pix0 * m->cout;
    tlr_kern_pointwise_serial((oy1 - oy0) * m->ow, m->cexp, m->cout, st->d, m->cexp, m->project,
                              m->cout, &pp, J->y + pix0 * m->cout, m->cout, tid);
}

/* Bands [begin, end) (over images, then rows), in order. */
static void bands_task(void *ctx, int64_t begin, int64_t end, int tid)
{
    const mb_job *J = ctx;
    const tlr_mbconv_params *m = J->m;
    int64_t rows_e = (J->band - 1) * m->stride + 3;
    int64_t e_floats = m->expand ? rows_e * m->w * m->cexp : 0;
    float *buf = tlr_thread_scratch(tid, MB_SCRATCH_SLOT,
                                    (size_t)(e_floats + J->band * m->ow * m->cexp) * sizeof *buf);
    mb_state st = { buf, buf + e_floats, -1, 0, 0 };
    for (int64_t bi = begin; bi < end; bi++) {
        int64_t img = bi / J->per_image, oy0 = bi % J->per_image * J->band;
        run_band(J, &st, img, oy0, min64(oy0 + J->band, m->oh), tid);
    }
}

/* The block as the three separate ops, for shapes the band kernels do not take. */
static void mbconv_separate(const tlr_mbconv_params *m, const float *x, float *y)
{
    float *e = NULL;
    const float *src = x;
    if (m->expand) {
        tlr_conv2d_params pe = { .n = m->n, .h = m->h, .w = m->w, .cin = m->cin, .oh = m->h,
                                 .ow = m->w, .cout = m->cexp, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                                 .dh = 1, .dw = 1, .groups = 1 };
        e = tlr_xmalloc((size_t)(m->n * m->h * m->w * m->cexp) * sizeof *e);
        tlr_op_conv2d_post(&pe, x, m->expand, NULL, &m->expand_post, e);
        src = e;
    }
    tlr_conv2d_params pd = { .n = m->n, .h = m->h, .w = m->w, .cin = m->cexp, .oh = m->oh,
                             .ow = m->ow, .cout = m->cexp, .kh = 3, .kw = 3, .sh = m->stride,
                             .sw = m->stride, .dh = 1, .dw = 1, .pad_top = m->pad_top,
                             .pad_left = m->pad_left, .groups = 1 };
    float *d = tlr_xmalloc((size_t)(m->n * m->oh * m->ow * m->cexp) * sizeof *d);
    tlr_op_depthwise_conv2d_post(&pd, 1, src, m->depthwise, NULL, &m->depthwise_post, d);
    tlr_conv2d_params pp = { .n = m->n, .h = m->oh, .w = m->ow, .cin = m->cexp, .oh = m->oh,
                             .ow = m->ow, .cout = m->cout, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                             .dh = 1, .dw = 1, .groups = 1 };
    tlr_op_conv2d_post(&pp, d, m->project, NULL, &m->project_post, y);
    free(e);
    free(d);
}

int tlr_kern_mbconv_banded(const tlr_mbconv_params *m)
{
    /* the band kernels multiply with kern_pointwise: at least 5 pixels in any product */
    return m->w >= 5 && m->ow >= 5 && tlr_kern_pointwise_applies(m->w, m->cin) &&
           tlr_kern_pointwise_applies(m->ow, m->cexp);
}

void tlr_kern_mbconv(const tlr_mbconv_params *m, const float *x, float *y)
{
    TLR_ASSERT(m->n >= 0 && m->h > 0 && m->w > 0 && m->cin > 0 && m->cexp > 0 && m->cout > 0);
    TLR_ASSERT((m->stride == 1 || m->stride == 2) && m->pad_top >= 0 && m->pad_left >= 0);
    TLR_ASSERT(m->expand || m->cexp == m->cin);
    TLR_ASSERT(!m->expand_post.residual && !m->depthwise_post.residual);
    if (m->n * m->oh * m->ow == 0)
        return;
    if (!tlr_kern_mbconv_banded(m)) {
        mbconv_separate(m, x, y);
        return;
    }
    int64_t row_bytes = m->stride * m->w * m->cexp * (int64_t)sizeof(float);
    int64_t band = MB_BAND_BYTES / row_bytes;
    /* at least two bands per image, so two threads share a small map */
    band = min64(band, (m->oh + 1) / 2);
    band = band < 1 ? 1 : band;
    mb_job J = { m, x, y, band, (m->oh + band - 1) / band };
    int64_t macs = m->n * (m->h * m->w * m->cin * (m->expand ? m->cexp : 0) +
                           m->oh * m->ow * m->cexp * (9 + m->cout));
    tlr_parallel_for_n(m->n * J.per_image, macs < MB_PARALLEL_MIN_MACS ? 1 : TLR_THREADS_MAX,
                       bands_task, &J);
}
