/* dump_grad.c - the gradient forms of --dump, computed by the engine's reverse pass. */
#include "app/dump_grad.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "engine/reverse.h"

#define FILTER_BORDER 2 /* Chollet's loss leaves out 2 pixels at each edge of the map */

int tlr_dump_is_grad(const char *spec)
{
    return strncmp(spec, "gradcam:", 8) == 0 || strncmp(spec, "grad:", 5) == 0;
}

/* "grad:LAYER:FILTER" into a new LAYER string and the filter; NULL when malformed. */
static char *split_grad(const char *spec, int *filter)
{
    const char *body = spec + 5, *colon = strrchr(body, ':');
    if (!colon || colon == body || !colon[1])
        return NULL;
    char *end;
    long f = strtol(colon + 1, &end, 10);
    if (*end || f < 0 || f > 1000000)
        return NULL;
    *filter = (int)f;
    char *layer = tlr_xstrdup(body);
    layer[colon - body] = '\0';
    return layer;
}

tlr_status tlr_dump_grad_check(const char *spec, tlr_err *err)
{
    if (strncmp(spec, "gradcam:", 8) == 0)
        return spec[8] ? TLR_OK
                       : tlr_err_set(err, TLR_E_USAGE, "--dump gradcam:LAYER: no layer given");
    int f;
    char *layer = split_grad(spec, &f);
    free(layer);
    return layer ? TLR_OK : tlr_err_set(err, TLR_E_USAGE, "--dump %s: expected grad:LAYER:FILTER "
                                        "with FILTER a channel number like 3", spec);
}

/* The Grad-CAM heatmap (H, W) of x's first image for class 'cls' (-1: the arg-max). */
static tlr_status gradcam(const tlr_model *m, const tlr_forward_opts *fo, int cls,
                          const char *layer, const tlr_tensor *x, tlr_tensor **out,
                          tlr_err *err)
{
    tlr_grad_request rq = { .kind = TLR_SCORE_CLASS, .fixed = cls, .wrt = layer };
    tlr_grad_result r;
    tlr_status st = tlr_grad_run(m, x, &rq, fo, NULL, &r, err);
    if (st)
        return st;
    if (r.value->ndim != 4) {
        st = tlr_err_set(err, TLR_E_USAGE, "Grad-CAM needs a layer with a 4-D (N, H, W, C) "
                         "output; '%s' has %d dimensions", layer, r.value->ndim);
    } else {
        int64_t shape[2] = { r.value->shape[1], r.value->shape[2] };
        *out = tlr_tensor_new(2, shape);
        tlr_gradcam_map(r.value, r.grad, 0, (*out)->data);
    }
    tlr_grad_result_free(&r);
    return st;
}

tlr_status tlr_dump_grad(const tlr_model *m, const tlr_forward_opts *fo, int cls,
                         const char *spec, const tlr_tensor *x, tlr_tensor **out, char **name,
                         tlr_err *err)
{
    *out = NULL;
    *name = NULL;
    if (strncmp(spec, "gradcam:", 8) == 0) {
        tlr_status st = gradcam(m, fo, cls, spec + 8, x, out, err);
        if (!st)
            *name = tlr_xasprintf("gradcam/%s", spec + 8);
        return st;
    }
    int f;
    char *layer = split_grad(spec, &f);
    if (!layer)
        return tlr_dump_grad_check(spec, err);
    tlr_grad_request rq = { .kind = TLR_SCORE_FILTER, .target = layer, .fixed = f,
                            .border = FILTER_BORDER };
    tlr_grad_result r;
    tlr_status st = tlr_grad_run(m, x, &rq, fo, NULL, &r, err);
    if (!st) {
        *out = r.grad;
        r.grad = NULL;
        *name = tlr_xasprintf("grad/%s/%d", layer, f);
        tlr_grad_result_free(&r);
    }
    free(layer);
    return st;
}
