/* dump_grad.h - the gradient forms of --dump: "gradcam:LAYER" (the Grad-CAM heatmap, (H, W))
 * and "grad:LAYER:FILTER" (d mean(A[:, 2:-2, 2:-2, FILTER]) / d x, the input's shape). */
#ifndef TLR_DUMP_GRAD_H
#define TLR_DUMP_GRAD_H

#include <stdio.h>

#include "base/err.h"
#include "base/tensor.h"
#include "engine/forward.h"
#include "keras/model.h"

/* 1 when 'spec' asks for a gradient ("gradcam:..." or "grad:..."). */
int tlr_dump_is_grad(const char *spec);

/* Checks the form of a gradient spec: TLR_E_USAGE with a message when it is malformed. */
tlr_status tlr_dump_grad_check(const char *spec, tlr_err *err);

/* Computes 'spec' on x (1, ...) of model 'm' (weights loaded); cls is --class (-1: the
 * arg-max).  *out receives the tensor (free it) and *name its relative name,
 * "gradcam/LAYER" or "grad/LAYER/FILTER" (free it). */
tlr_status tlr_dump_grad(const tlr_model *m, const tlr_forward_opts *fo, int cls,
                         const char *spec, const tlr_tensor *x, tlr_tensor **out, char **name,
                         tlr_err *err);

#endif
