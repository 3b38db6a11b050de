/* h5model.h - test helper: writes a small model.save()-style HDF5 file (model_config plus
 * model_weights) with the library's HDF5 writer, so a test states its weights by hand.
 * Header-only (static inline) for the suites that build such files. */
#ifndef TLR_TEST_H5MODEL_H
#define TLR_TEST_H5MODEL_H

#include <stdlib.h>
#include <string.h>

#include "h5write.h"
#include "harness.h"
#include "base/xalloc.h"

/* One stored weight: dataset 'name' (e.g. "dense_1/kernel:0", Keras 1 "dense_1_W") in the
 * group of layer 'layer'. */
typedef struct {
    const char *layer;
    const char *name;
    int ndim;
    int64_t dims[4];
    const float *data;   /* NULL: zeros */
} tlr_t_weight;

/* 's' with every ' turned into ", so configs can be written in C strings readably (names
 * never hold quotes).  Free the result. */
static inline char *tlr_t_q(const char *s)
{
    char *d = tlr_xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

/* A path in the scratch directory. */
static inline void tlr_t_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tlr_t_tmpdir(), name);
}

/* Writes 'path': model_config 'config' (quotes written as '), keras_version 'version' (NULL:
 * none, as Keras 1 wrote), backend "tensorflow", and the weights 'ws' grouped by layer in
 * the order given.  Returns 0 on success (failures are counted as test failures). */
static inline int tlr_t_write_model_h5(const char *path, const char *config, const char *version,
                                       const tlr_t_weight *ws, int n)
{
    tlr_err err = { 0 };
    tlr_h5w *w = tlr_h5w_create(path, &err);
    CHECK(w != NULL, "h5 create %s: %s", path, err.msg);
    if (!w)
        return -1;
    char *cfg = tlr_t_q(config);
    tlr_h5w_attr_string(w, "/", "model_config", cfg, TLR_H5W_ASCII, &err);
    free(cfg);
    tlr_h5w_group(w, "model_weights", &err);
    if (version) {
        tlr_h5w_attr_string(w, "/", "keras_version", version, TLR_H5W_ASCII, &err);
        tlr_h5w_attr_string(w, "model_weights", "keras_version", version, TLR_H5W_ASCII, &err);
    }
    tlr_h5w_attr_string(w, "/", "backend", "tensorflow", TLR_H5W_ASCII, &err);
    tlr_h5w_attr_string(w, "model_weights", "backend", "tensorflow", TLR_H5W_ASCII, &err);
    const char *layers[16];
    int n_layers = 0;
    for (int i = 0; i < n && n_layers < 16; i++) {
        int seen = 0;
        for (int k = 0; k < n_layers; k++)
            seen |= strcmp(layers[k], ws[i].layer) == 0;
        if (!seen)
            layers[n_layers++] = ws[i].layer;
    }
    tlr_h5w_attr_strings(w, "model_weights", "layer_names", layers, (size_t)n_layers,
                         TLR_H5W_VLEN, &err);
    for (int k = 0; k < n_layers; k++) {
        const char *names[16];
        int nn = 0;
        char g[256];
        snprintf(g, sizeof g, "model_weights/%s", layers[k]);
        tlr_h5w_group(w, g, &err);
        for (int i = 0; i < n && nn < 16; i++) {
            if (strcmp(ws[i].layer, layers[k]) != 0)
                continue;
            names[nn++] = ws[i].name;
            char d[512];
            snprintf(d, sizeof d, "%s/%s", g, ws[i].name);
            int64_t count = 1;
            for (int j = 0; j < ws[i].ndim; j++)
                count *= ws[i].dims[j];
            float *zeros = ws[i].data ? NULL : tlr_xcalloc((size_t)count + 1, sizeof *zeros);
            tlr_h5w_dataset_f32(w, d, ws[i].ndim, ws[i].dims, ws[i].data ? ws[i].data : zeros,
                                &err);
            free(zeros);
        }
        tlr_h5w_attr_strings(w, g, "weight_names", names, (size_t)nn, TLR_H5W_VLEN, &err);
    }
    tlr_status st = tlr_h5w_close(w, &err);
    CHECK(st == TLR_OK && err.code == TLR_OK, "writing %s: %s", path, err.msg);
    return st == TLR_OK && err.code == TLR_OK ? 0 : -1;
}

#endif
