/* storage.h - Pregunta 1: how a Keras file stores the model and its weights, as plain data.
 *
 * tlr_inspect_storage_build reads the file's anatomy once (format, versions, root
 * attributes, model and training config, every weight dataset with the layer it belongs to,
 * optimizer state, get_weights() order); the --storage text, the report data and the JSON of
 * --json / report.json are all rendered from that one value.
 *
 * Strings marked "borrowed" point into the tlr_kfile (its paths, model and configs): the
 * value must not outlive the file it was built from. */
#ifndef TLR_STORAGE_H
#define TLR_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/strlist.h"
#include "io/h5file.h"
#include "keras/kfile.h"
#include "keras/model.h"

/* Optimizer names kept for the JSON (the count covers them all). */
#define TLR_STORAGE_MAX_OPT_NAMES 12

/* One weight dataset of the file. */
typedef struct {
    char *name;              /* as listed: "conv2d/kernel:0", or "0" under a .keras vars group */
    char *path;              /* HDF5 dataset path */
    tlr_shape shape;         /* as stored */
    const char *dtype;       /* "float32", ... (static) */
    uint64_t bytes;
    char *layer;             /* path of the layer that binds it ("vgg16/block1_conv1"), or NULL */
    const char *role;        /* with 'layer': "kernel", "bias", ... (borrowed) */
    int trainable;           /* with 'layer': a trainable variable of a trainable layer */
} tlr_storage_array;

/* The datasets of one layer group (HDF5 layer_names entry, or a .keras layer path). */
typedef struct {
    char *group;             /* "/model_weights/conv2d", or "layers/conv2d" in a .keras store */
    char *name;              /* the layer name the file gives, or NULL (.keras before 3.6) */
    const char *class_name;  /* class of the model's layer of that name, or NULL (borrowed) */
    int nested;              /* with class_name: the layer is a nested model */
    tlr_storage_array *arrays; /* those whose dataset could be read */
    int n_arrays;
    int64_t params;
    uint64_t bytes;
} tlr_storage_group;

typedef enum {
    TLR_STORAGE_NO_WEIGHTS,  /* nothing to read (architecture JSON without weights) */
    TLR_STORAGE_LEGACY,      /* HDF5 layer_names / weight_names layout */
    TLR_STORAGE_ARCHIVE,     /* Keras 3 model.weights.h5 layer tree */
} tlr_storage_layout;

typedef struct {
    tlr_storage_layout layout;
    const char *group;       /* LEGACY: weights root ("/model_weights", "/"); ARCHIVE:
                                "model.weights.h5"; NULL otherwise (borrowed or static) */
    tlr_h5_attr *attrs;      /* LEGACY: attributes of the weights root */
    size_t n_attrs;
    int has_layer_names;     /* LEGACY: layer_names could be read */
    int n_layer_names;
    int layer_names_chunked; /* split into layer_names0, layer_names1, ... (large models) */
    int top_level_model_weights; /* LEGACY: a top_level_model_weights group exists */
    tlr_storage_group *groups;
    int n_groups;
    int arrays;              /* datasets named (legacy: weight_names entries) */
    int64_t params;
    uint64_t bytes;
} tlr_storage_weights;

typedef struct {
    int present;
    tlr_strlist names;       /* the first TLR_STORAGE_MAX_OPT_NAMES */
    int count;
    int64_t params;
    uint64_t bytes;
} tlr_storage_optimizer;

typedef struct {
    int present;             /* compile() was saved */
    const char *loss;        /* NULL when not recorded (borrowed) */
    const char *optimizer;   /* NULL when not recorded (borrowed) */
    const tlr_json *optimizer_config; /* its "config", or NULL (borrowed) */
    int has_learning_rate;
    double learning_rate;
    tlr_strlist metrics;
    const tlr_json *raw;     /* the whole training_config (borrowed) */
} tlr_storage_training;

/* One variable of layer.get_weights(). */
typedef struct {
    char *name;              /* "conv2d/kernel" */
    tlr_shape shape;
    int trainable;
} tlr_storage_var;

typedef struct {
    const char *layer;       /* top-level layer name (borrowed) */
    tlr_storage_var *vars;
    int n_vars;
} tlr_storage_layer_vars;

typedef struct {
    const char *file;            /* borrowed */
    int has_bytes;               /* the file could be stat()ed */
    int64_t bytes;
    tlr_format format;
    const char *keras_version;   /* NULL when not recorded (borrowed) */
    int keras_major;
    int tf_keras;
    const char *backend;         /* NULL when not recorded (borrowed) */
    int has_architecture;        /* the file (or --config) gave a model */
    const char *weights_file;    /* the second file weights came from, or NULL (borrowed) */
    int has_root_attrs;          /* an HDF5 file: root_attrs is meaningful */
    tlr_h5_attr *root_attrs;     /* long values shortened to "first 100... (N characters)" */
    size_t n_root_attrs;
    /* model_config, when the file has an architecture */
    int has_config;
    size_t config_bytes;         /* of the config JSON, printed compactly */
    const char *config_class;    /* borrowed */
    int subclassed;              /* the config has no layer list (kfile.h) */
    const char *model_name;      /* NULL without a model (borrowed) */
    int model_layers;            /* top-level layers shown by summary() */
    tlr_storage_training training;
    tlr_storage_weights weights;
    tlr_storage_optimizer optimizer;
    char *const *archive_members;/* .keras zip entries (borrowed) */
    const size_t *archive_sizes;
    int n_archive_members;
    /* layer.get_weights() per top-level layer; only with a model */
    int has_get_weights;
    int get_weights_trainable_first; /* standalone Keras 1/2: trainable variables first */
    tlr_storage_layer_vars *get_weights;
    int n_get_weights;
} tlr_storage;

/* Reads the anatomy of an opened file.  Unreadable parts are left out rather than failing.
 * Free with tlr_storage_free(). */
tlr_storage *tlr_inspect_storage_build(const tlr_kfile *f, tlr_err *err);
void tlr_storage_free(tlr_storage *s);

/* The anatomy as the --json / report.json document ("file", "bytes", "format", ...,
 * "weights": {"groups": [...]}, "optimizer_weights", "get_weights"). */
tlr_json *tlr_storage_to_json(const tlr_storage *s);

/* The --storage text. */
void tlr_storage_text(const tlr_storage *s, tlr_buf *out);

/* "hdf5-model", "hdf5-weights", "keras-zip" or "json". */
const char *tlr_storage_format_key(tlr_format fmt);

#endif
