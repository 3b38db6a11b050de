/* fuzz_keras_config.c - libFuzzer target: model_config JSON text -> tlr_json_parse ->
 * tlr_keras_config_parse -> tlr_shape_model -> expected weights -> summary and layer list.
 * The Keras dialect (major version 0-3, Theano backend) comes from the input length, so one
 * input always takes the same path. */
#include <stdint.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/xalloc.h"
#include "keras/keras_config.h"
#include "keras/kfile.h"
#include "keras/shape.h"
#include "keras/weights.h"
#include "report/inspect.h"

/* The text reports built from a parsed model (layer names and shapes from the input). */
static void fuzz_keras_config_reports(tlr_kfile *f)
{
    tlr_summary *s = tlr_inspect_summary(f, 0, 1, 1);
    if (s) {
        tlr_buf b = TLR_BUF_INIT;
        tlr_summary_format(s, &b);
        tlr_buf_free(&b);
        tlr_inspect_summary_free(s);
    }
    tlr_layer_table *layers = tlr_inspect_layer_table(f, 1);
    if (layers) {
        tlr_buf b = TLR_BUF_INIT;
        tlr_layer_table_text(layers, &b);
        tlr_buf_free(&b);
        tlr_json_free(tlr_layer_table_to_json(layers));
        tlr_layer_table_free(layers);
    }
}

static tlr_status fuzz_keras_config_run(const uint8_t *data, size_t size, tlr_err *err)
{
    tlr_json *root = tlr_json_parse((const char *)data, size, "fuzz.json", err);
    if (root && tlr_json_is_string(root)) {
        tlr_json *inner = tlr_keras_config_unwrap(root, "fuzz.json", err);
        tlr_json_free(root);
        root = inner;
    }
    if (!root)
        return err->code;
    tlr_config_ctx ctx = { (int)(size % 4), (int)(size / 4 % 2), "fuzz.json" };
    tlr_kfile *f = tlr_xcalloc(1, sizeof *f);
    f->path = tlr_xstrdup("fuzz.json");
    f->format = TLR_FMT_JSON;
    f->keras_major = ctx.keras_major;
    f->config_root = root;
    f->model = tlr_keras_config_parse(root, &ctx, err);
    tlr_status st = f->model ? tlr_shape_model(f->model, "fuzz.json", err) : err->code;
    if (st == TLR_OK) {
        tlr_weights_count_expected(f->model);
        fuzz_keras_config_reports(f);
    }
    tlr_kfile_free(f);
    return st;
}

#ifndef TLR_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlr_err err = { 0 };
    fuzz_keras_config_run(data, size, &err);
    return 0;
}
#endif
