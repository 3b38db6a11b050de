/* fuzz_pipeline.c - libFuzzer target: a whole model file image (HDF5, .keras zip or JSON) ->
 * tlr_kfile_open_buffer -> weights loaded under a small budget -> the storage report -> a
 * forward pass on a tiny deterministic input (None dims set small) under a small memory budget. */
#include <stdint.h>
#include <stdlib.h>

#include "engine/forward.h"
#include "keras/kfile.h"
#include "report/inspect.h"
#include "report/storage.h"

#define FUZZ_PIPE_WEIGHTS_MAX ((int64_t)64 << 20)
#define FUZZ_PIPE_ACT_MAX ((int64_t)64 << 20)
#define FUZZ_PIPE_INPUT_MAX ((int64_t)1 << 16)
#define FUZZ_PIPE_MAX_INPUTS 4

/* Input 'i' of the model with None dims made concrete (batch 1, others 6); NULL when the shape
 * is unknown or the tensor would be large. */
static tlr_tensor *fuzz_pipeline_input(const tlr_model *m, int i)
{
    tlr_shape s = tlr_forward_input_shape(m, i);
    if (s.ndim <= 0 || s.ndim > TLR_MAX_DIMS)
        return NULL;
    int64_t shape[TLR_MAX_DIMS];
    for (int k = 0; k < s.ndim; k++)
        shape[k] = s.d[k] >= 0 ? s.d[k] : k == 0 ? 1 : 6;
    int64_t n = tlr_shape_numel(s.ndim, shape);
    if (n < 0 || n > FUZZ_PIPE_INPUT_MAX)
        return NULL;
    tlr_tensor *t = tlr_tensor_new(s.ndim, shape);
    for (int64_t k = 0; k < n; k++)
        t->data[k] = (float)(k * 37 % 17 - 8) / 8.0f;
    return t;
}

static tlr_status fuzz_pipeline_forward(const tlr_model *m, tlr_err *err)
{
    int n = m->n_inputs;
    if (n < 1 || n > FUZZ_PIPE_MAX_INPUTS)
        return TLR_OK;
    tlr_tensor *in[FUZZ_PIPE_MAX_INPUTS] = { 0 };
    int ok = 1;
    for (int i = 0; i < n; i++)
        ok &= (in[i] = fuzz_pipeline_input(m, i)) != NULL;
    tlr_status st = TLR_OK;
    if (ok) {
        tlr_forward_opts fo = { FUZZ_PIPE_ACT_MAX, 0 };
        tlr_forward_result r = { 0 };
        st = tlr_forward_run(m, (const tlr_tensor *const *)in, n, NULL, 0, 1, &fo, &r, err);
        tlr_forward_result_free(&r);
    }
    for (int i = 0; i < n; i++)
        tlr_tensor_free(in[i]);
    return st;
}

static tlr_status fuzz_pipeline_run(const uint8_t *data, size_t size, tlr_err *err)
{
    tlr_kfile *f = tlr_kfile_open_buffer(data, size, "fuzz.model", NULL, err);
    if (!f)
        return err->code;
    f->wctx.max_bytes = FUZZ_PIPE_WEIGHTS_MAX;
    tlr_err e2 = { 0 };
    tlr_storage *sto = tlr_inspect_storage_build(f, &e2);
    if (sto) {
        tlr_json_free(tlr_storage_to_json(sto));
        tlr_storage_free(sto);
    }
    tlr_status st = tlr_kfile_load_weights(f, err);
    if (st == TLR_OK && f->model && f->weights_loaded)
        st = fuzz_pipeline_forward(f->model, err);
    tlr_kfile_free(f);
    return st;
}

#ifndef TLR_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlr_err err = { 0 };
    fuzz_pipeline_run(data, size, &err);
    return 0;
}
#endif
