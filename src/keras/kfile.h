/* kfile.h - a Keras model file of any kind, opened: the format detected by magic bytes,
 * the writer's version and backend, the parsed configs, the model graph with shapes, and the
 * weights bound to its layers (data loaded on demand). */
#ifndef TLR_KFILE_H
#define TLR_KFILE_H

#include "base/err.h"
#include "base/json.h"
#include "base/strlist.h"
#include "io/h5file.h"
#include "keras/model.h"
#include "keras/weights.h"

typedef enum {
    TLR_FMT_H5_MODEL,     /* model.save('x.h5'): model_config + model_weights */
    TLR_FMT_H5_WEIGHTS,   /* model.save_weights('x.h5'): layer_names at the root */
    TLR_FMT_KERAS_ZIP,    /* .keras archive: config.json + model.weights.h5 */
    TLR_FMT_JSON,         /* model.to_json() architecture, weights from a second file */
    TLR_FMT_COUNT
} tlr_format;

const char *tlr_format_name(tlr_format f);

typedef struct {
    char *path;              /* the file the user named */
    char *weights_path;      /* where weights come from ("x.keras:model.weights.h5", ...) */
    tlr_format format;
    char *keras_version;     /* "2.9.0", "1.2.2" when the file says so; NULL if unknown */
    char *backend;           /* "tensorflow", "theano", ... or NULL */
    int keras_major;         /* 1, 2, 3 (0 unknown) */
    int is_tf_keras;         /* tf.keras wrote it (version with "-tf", or >= 2.4) */
    tlr_json *config_root;   /* {"class_name", "config"} (owned) or NULL for weights-only */
    tlr_json *training_config; /* owned, or NULL */
    tlr_json *metadata;      /* .keras metadata.json (owned), or NULL */
    tlr_model *model;        /* NULL for a weights-only file without architecture, and for
                                a subclassed model */
    char *subclassed;        /* class of a subclassed model ("VAE": a config without a layer
                                list) whose weights are there but whose architecture is Python
                                code the file does not hold; NULL otherwise */
    tlr_h5 *h5;              /* the HDF5 file holding the weights (NULL if none) */
    char *weights_root;      /* legacy layout group ("model_weights" or "/"); NULL for archives */
    int weights_loaded;
    tlr_weights_ctx wctx;
    int n_archive_members;   /* .keras: what the zip holds (for the storage report) */
    char **archive_members;
    size_t *archive_sizes;
} tlr_kfile;

typedef struct {
    const char *config_path;  /* --config: architecture JSON for a weights-only file */
    const char *weights_path; /* --weights: weights for an architecture JSON */
    const char *const *lambdas; /* --lambda "PATH=FORMULA" for Lambda layers */
    int n_lambdas;
    int structure_only;       /* the weights' values will not be loaded (a cheaper open) */
} tlr_kfile_opts;

/* Opens 'path' (detecting the format from its bytes), parses the architecture, infers shapes
 * and binds the stored weights.  Free with tlr_kfile_free().  NULL + err on failure. */
tlr_kfile *tlr_kfile_open(const char *path, const tlr_kfile_opts *opts, tlr_err *err);
/* The same from a memory image of a file ('label' names it in messages and in f->path).  The
 * buffer is only read during the call.  opts->weights_path, for an architecture JSON, is
 * still a path. */
tlr_kfile *tlr_kfile_open_buffer(const void *buf, size_t len, const char *label,
                                 const tlr_kfile_opts *opts, tlr_err *err);
void tlr_kfile_free(tlr_kfile *f);

/* What of the file the report cannot use, one sentence each, appended to 'out': layers
 * whose weights do not bind, a subclassed model's missing architecture. */
void tlr_kfile_gaps(const tlr_kfile *f, tlr_strlist *out);

/* Reads every weight's values (needed by grids and the forward pass). */
tlr_status tlr_kfile_load_weights(tlr_kfile *f, tlr_err *err);

#endif
