/* cost.h - what a forward pass costs, layer by layer: multiply-accumulates and the size of
 * the activations, counted from the shapes alone (no forward pass needed). */
#ifndef TLR_REPORT_COST_H
#define TLR_REPORT_COST_H

#include <stdint.h>

#include "keras/model.h"

/* Multiply-accumulates of one sample through 'l' over all its calls.  Convention:
 * convolutions and Dense count one MAC per kernel weight per output position (a separable
 * convolution adds its two kernels; a transposed convolution counts input positions, where
 * its kernel is applied); a nested model is the sum of its layers; every other layer, 0
 * (their work is a few operations per value, small beside these).  -1 when a shape is
 * unknown. */
int64_t tlr_cost_macs(const tlr_layer *l);

/* Values the layer outputs for one sample, over all its calls and outputs; -1 unknown. */
int64_t tlr_cost_activations(const tlr_layer *l);

/* "6.62 G", "145.3 M", "12.5 k" or "812": a count with a metric prefix, 3-4 digits. */
void tlr_cost_format(int64_t n, char *out, size_t cap);

#endif
