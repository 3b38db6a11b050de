/* kfile.c - opening Keras files of every kind and era. */
#include "keras/kfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/xalloc.h"
#include "io/zipio.h"
#include "keras/expr.h"
#include "keras/keras1_inputs.h"
#include "keras/keras_config.h"
#include "keras/shape.h"

#define MAX_JSON_BYTES ((size_t)256 << 20)
#define MAX_WEIGHTS_BYTES ((size_t)8 << 30)

const char *tlr_format_name(tlr_format f)
{
    static const char *const names[TLR_FMT_COUNT] = {
        [TLR_FMT_H5_MODEL] = "HDF5 model (model.save)",
        [TLR_FMT_H5_WEIGHTS] = "HDF5 weights only (model.save_weights)",
        [TLR_FMT_KERAS_ZIP] = "Keras v3 archive (.keras zip)",
        [TLR_FMT_JSON] = "architecture JSON (model.to_json)",
    };
    return f >= 0 && f < TLR_FMT_COUNT ? names[f] : "?";
}

/* ---- file reading -------------------------------------------------------------------------- */

/* First bytes of a file, for format detection. */
static size_t read_head(const char *path, unsigned char *buf, size_t cap, tlr_err *err, int *ok)
{
    *ok = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        tlr_err_set(err, TLR_E_IO, "%s: no such file", path);
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        tlr_err_set(err, TLR_E_IO, "%s: is a directory, not a model file", path);
        return 0;
    }
    /* opening a FIFO or a device would block or never end */
    if (!S_ISREG(st.st_mode)) {
        tlr_err_set(err, TLR_E_IO, "%s: not a regular file", path);
        return 0;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        tlr_err_set(err, TLR_E_IO, "%s: cannot open file", path);
        return 0;
    }
    size_t n = fread(buf, 1, cap, fp);
    fclose(fp);
    *ok = 1;
    return n;
}

static int looks_like_json(const unsigned char *b, size_t n)
{
    size_t i = 0;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        i = 3; /* UTF-8 BOM */
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    return i < n && (b[i] == '{' || b[i] == '[' || b[i] == '"');
}

/* ---- versions ------------------------------------------------------------------------------ */

static void set_version(tlr_kfile *f, const char *v)
{
    free(f->keras_version);
    f->keras_version = v ? tlr_xstrdup(v) : NULL;
    f->keras_major = v ? atoi(v) : 0;
    f->is_tf_keras = v && (strstr(v, "-tf") || (f->keras_major == 2 && atoi(strchr(v, '.') ?
                                                strchr(v, '.') + 1 : "0") >= 4));
}

static void read_version_attrs(tlr_kfile *f, const char *obj)
{
    if (!f->keras_version && tlr_h5_has_attr(f->h5, obj, "keras_version")) {
        char *v = tlr_h5_attr_string(f->h5, obj, "keras_version", NULL);
        set_version(f, v);
        free(v);
    }
    if (!f->backend && tlr_h5_has_attr(f->h5, obj, "backend"))
        f->backend = tlr_h5_attr_string(f->h5, obj, "backend", NULL);
}

/* ---- configs ------------------------------------------------------------------------------- */

/* Parses a JSON config text; a JSON string holding JSON (double-encoded) is unwrapped. */
static tlr_json *parse_config_text(const char *text, size_t len, const char *what, tlr_err *err)
{
    tlr_json *j = tlr_json_parse(text, len, what, err);
    if (j && tlr_json_is_string(j)) {
        tlr_json *inner = tlr_keras_config_unwrap(j, what, err);
        tlr_json_free(j);
        j = inner;
    }
    return j;
}

static tlr_status parse_h5_json_attr(tlr_kfile *f, const char *name, tlr_json **out, tlr_err *err)
{
    char *text = tlr_h5_attr_string(f->h5, "/", name, err);
    if (!text)
        return err->code;
    char what[1200];
    snprintf(what, sizeof what, "%s: attribute '%s'", f->path, name);
    *out = parse_config_text(text, strlen(text), what, err);
    free(text);
    return *out ? TLR_OK : err->code;
}

/* The version a to_json() / config.json records about itself. */
static void version_from_json(tlr_kfile *f, const tlr_json *root)
{
    const char *v = tlr_json_get_string(root, "keras_version", NULL);
    if (v && !f->keras_version)
        set_version(f, v);
    const char *b = tlr_json_get_string(root, "backend", NULL);
    if (b && !f->backend)
        f->backend = tlr_xstrdup(b);
}

/* Keras 1 configs carry Keras 1 vocabulary even when the file has no version attribute. */
static int config_is_keras1(const tlr_json *root)
{
    const tlr_json *cfg = tlr_json_get(root, "config");
    const tlr_json *layers = tlr_json_is_array(cfg) ? cfg : tlr_json_get(cfg, "layers");
    for (const tlr_json *l = tlr_json_first(layers); l; l = tlr_json_next(l)) {
        const tlr_json *c = tlr_json_get(l, "config");
        if (tlr_json_get(c, "nb_filter") || tlr_json_get(c, "output_dim") ||
            tlr_json_get(c, "border_mode") || tlr_json_get(c, "dim_ordering") ||
            tlr_json_get(c, "input_dtype"))
            return 1;
    }
    return 0;
}

/* ---- building the model -------------------------------------------------------------------- */

/* --lambda PATH=FORMULA: gives a Lambda layer an elementwise formula. */
static tlr_status set_lambdas(tlr_kfile *f, const tlr_kfile_opts *opts, tlr_err *err)
{
    for (int i = 0; opts && i < opts->n_lambdas; i++) {
        const char *eq = strchr(opts->lambdas[i], '=');
        char *path = tlr_xstrndup(opts->lambdas[i], (size_t)(eq - opts->lambdas[i]));
        const tlr_model *owner;
        int idx;
        tlr_status st = TLR_OK;
        if (tlr_model_resolve(f->model, path, &owner, &idx))
            st = tlr_err_set(err, TLR_E_USAGE, "--lambda: no layer '%s' in the model", path);
        else if (owner->layers[idx].op != TLR_OP_LAMBDA)
            st = tlr_err_set(err, TLR_E_USAGE, "--lambda: layer '%s' is a %s, not a Lambda", path,
                             owner->layers[idx].class_name);
        if (!st) {
            tlr_expr *e = tlr_expr_compile(eq + 1, err);
            if (!e) {
                st = err->code;
            } else {
                tlr_layer *l = (tlr_layer *)&owner->layers[idx];
                tlr_expr_free(l->lambda);
                l->lambda = e;
                l->lambda_recovered = 0;
            }
        }
        free(path);
        if (st)
            return st;
    }
    return TLR_OK;
}

static tlr_status build_model(tlr_kfile *f, const tlr_kfile_opts *opts, tlr_err *err)
{
    if (f->h5 && tlr_keras_config_subclassed(f->config_root)) {
        /* the weights are readable, the architecture is not: a report with that gap */
        f->subclassed = tlr_xstrdup(tlr_json_get_string(f->config_root, "class_name", "?"));
        return TLR_OK;
    }
    if (!f->keras_major && config_is_keras1(f->config_root))
        f->keras_major = 1;
    tlr_config_ctx cctx = { f->keras_major, f->backend && strcmp(f->backend, "theano") == 0,
                            f->path };
    f->model = tlr_keras_config_parse(f->config_root, &cctx, err);
    if (!f->model)
        return err->code;
    if (f->keras_major == 1)
        tlr_keras1_name_inputs(f->model); /* "dense_input_1", not Keras 2's "dense_1_input" */
    tlr_status st = set_lambdas(f, opts, err);
    if (!st)
        st = tlr_shape_model(f->model, f->path, err);
    if (st)
        return st;
    f->wctx.keras_major = f->keras_major;
    f->wctx.backend_theano = cctx.backend_theano;
    f->wctx.what = f->weights_path ? f->weights_path : f->path;
    if (!f->h5) {
        tlr_weights_count_expected(f->model);
        return TLR_OK;
    }
    if (f->weights_root)
        return tlr_weights_bind_legacy(f->model, f->h5, f->weights_root, &f->wctx, err);
    return tlr_weights_bind_archive(f->model, f->h5, &f->wctx, err);
}

/* ---- per format ---------------------------------------------------------------------------- */

/* --config: the architecture of a weights-only file. */
static tlr_status read_config_file(tlr_kfile *f, const char *path, tlr_err *err)
{
    size_t len;
    char *text = tlr_file_read(path, MAX_JSON_BYTES, &len, err);
    if (!text)
        return err->code;
    f->config_root = parse_config_text(text, len, path, err);
    free(text);
    if (!f->config_root)
        return err->code;
    version_from_json(f, f->config_root);
    return TLR_OK;
}

/* What an opened HDF5 file (f->h5) holds: a whole model, or weights only. */
/* A complete model file brings its own architecture and weights: --config / --weights with it
 * would be silently ignored, so they are an error. */
static tlr_status refuse_extra_files(const tlr_kfile *f, const tlr_kfile_opts *opts, tlr_err *err)
{
    if (opts && (opts->config_path || opts->weights_path))
        return tlr_err_set(err, TLR_E_USAGE, "%s: %s cannot be used with a complete model file "
                           "(it holds its architecture and weights)", f->path,
                           opts->config_path ? "--config" : "--weights");
    return TLR_OK;
}

/* --config serves files without a usable architecture: weights-only files and complete files
 * of a subclassed model (its config has no layer list), where it replaces the config; every
 * other complete file refuses it. */
static tlr_status extra_config(tlr_kfile *f, const tlr_kfile_opts *opts, tlr_err *err)
{
    if (!opts || !opts->config_path || opts->weights_path ||
        !tlr_keras_config_subclassed(f->config_root))
        return refuse_extra_files(f, opts, err);
    tlr_json_free(f->config_root);
    f->config_root = NULL;
    return read_config_file(f, opts->config_path, err);
}

static tlr_status h5_contents(tlr_kfile *f, const tlr_kfile_opts *opts, tlr_err *err)
{
    f->weights_path = tlr_xstrdup(f->path);
    read_version_attrs(f, "/");
    tlr_status st;
    if (tlr_h5_has_attr(f->h5, "/", "model_config")) {
        f->format = TLR_FMT_H5_MODEL;
        if ((st = parse_h5_json_attr(f, "model_config", &f->config_root, err)) ||
            (st = extra_config(f, opts, err)))
            return st;
        if (tlr_h5_has_attr(f->h5, "/", "training_config") &&
            (st = parse_h5_json_attr(f, "training_config", &f->training_config, err)))
            return st;
        if (!tlr_h5_is_group(f->h5, "/model_weights"))
            return tlr_err_set(err, TLR_E_FORMAT, "%s: the 'model_weights' group is missing", f->path);
        f->weights_root = tlr_xstrdup("/model_weights");
        read_version_attrs(f, "/model_weights");
        /* Keras 1 wrote no keras_version anywhere (Keras's own loader calls that '1'). */
        if (!f->keras_version && !tlr_h5_has_attr(f->h5, "/model_weights", "keras_version"))
            f->keras_major = 1;
    } else if (tlr_h5_has_attr(f->h5, "/", "layer_names") ||
               tlr_h5_has_attr(f->h5, "/", "layer_names0")) {
        f->format = TLR_FMT_H5_WEIGHTS;
        if (opts && opts->weights_path)
            return tlr_err_set(err, TLR_E_USAGE, "%s: --weights goes with an architecture JSON; "
                               "this file is itself weights (use --config arch.json)", f->path);
        f->weights_root = tlr_xstrdup("/");
        if (!f->keras_version)
            f->keras_major = 1;
        if (opts && opts->config_path) {
            int major = f->keras_major;
            if ((st = read_config_file(f, opts->config_path, err)))
                return st;
            if (major == 1 && f->keras_major != 1 && !tlr_h5_has_attr(f->h5, "/", "keras_version"))
                f->keras_major = 1;
        }
    } else if (tlr_h5_is_group(f->h5, "/layers") ||
               tlr_h5_is_group(f->h5, "/_layer_checkpoint_dependencies")) {
        /* Keras 3 save_weights('x.weights.h5'): the .keras archive's weights file alone */
        f->format = TLR_FMT_H5_WEIGHTS;
        if (opts && opts->weights_path)
            return tlr_err_set(err, TLR_E_USAGE, "%s: --weights goes with an architecture JSON; "
                               "this file is itself weights (use --config arch.json)", f->path);
        if (opts && opts->config_path && (st = read_config_file(f, opts->config_path, err)))
            return st;
    } else {
        return tlr_err_set(err, TLR_E_FORMAT, "%s: HDF5 file without Keras content (no "
                           "model_config or layer_names attribute)", f->path);
    }
    return f->config_root ? build_model(f, opts, err) : TLR_OK;
}

static tlr_status open_h5(tlr_kfile *f, const tlr_kfile_opts *opts, tlr_err *err)
{
    f->h5 = tlr_h5_open_for(f->path, !(opts && opts->structure_only), err);
    return f->h5 ? h5_contents(f, opts, err) : err->code;
}

/* The members of an opened .keras archive; 'z' stays the caller's. */
static tlr_status zip_contents(tlr_kfile *f, tlr_zip *z, const tlr_kfile_opts *opts, tlr_err *err)
{
    f->format = TLR_FMT_KERAS_ZIP;
    tlr_status st = opts && opts->weights_path ? refuse_extra_files(f, opts, err) : TLR_OK;
    if (st)
        return st;
    size_t len = 0;
    char *text = NULL, *wbuf = NULL;
    tlr_strlist members = TLR_STRLIST_INIT;
    if ((st = tlr_zip_list(z, &members, err)))
        goto out;
    f->n_archive_members = (int)members.n;
    f->archive_members = members.items;
    f->archive_sizes = tlr_xcalloc(members.n + 1, sizeof *f->archive_sizes);
    members.items = NULL;
    members.n = 0;
    if (!tlr_zip_has(z, "config.json")) {
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: zip archive without config.json (not a .keras "
                         "model)", f->path);
        goto out;
    }
    if (tlr_zip_has(z, "metadata.json")) {
        text = tlr_zip_read(z, "metadata.json", MAX_JSON_BYTES, &len, err);
        f->metadata = text ? tlr_json_parse(text, len, "metadata.json", err) : NULL;
        free(text);
        text = NULL;
        if (!f->metadata) {
            st = tlr_err_prefix(err, "%s", f->path);
            goto out;
        }
        version_from_json(f, f->metadata);
    }
    text = tlr_zip_read(z, "config.json", MAX_JSON_BYTES, &len, err);
    if (!text) {
        st = err->code;
        goto out;
    }
    char what[1100];
    snprintf(what, sizeof what, "%s: config.json", f->path);
    f->config_root = parse_config_text(text, len, what, err);
    if (!f->config_root || (st = extra_config(f, opts, err))) {
        st = err->code;
        goto out;
    }
    if (tlr_json_is_object(f->config_root))
        f->training_config = tlr_json_copy(tlr_json_get(f->config_root, "compile_config"));
    if (tlr_zip_has(z, "model.weights.npz")) {
        st = tlr_err_set(err, TLR_E_UNSUPPORTED, "%s: weights stored as model.weights.npz are not "
                         "supported", f->path);
        goto out;
    }
    if (tlr_zip_has(z, "model.weights.h5")) {
        wbuf = tlr_zip_read(z, "model.weights.h5", MAX_WEIGHTS_BYTES, &len, err);
        if (!wbuf) {
            st = err->code;
            goto out;
        }
        f->weights_path = tlr_xasprintf("%s:model.weights.h5", f->path);
        f->h5 = tlr_h5_open_image(wbuf, len, f->weights_path, err);
        if (!f->h5) {
            st = err->code;
            goto out;
        }
    }
    for (int i = 0; i < f->n_archive_members; i++)
        f->archive_sizes[i] = tlr_zip_size(z, f->archive_members[i]);
    st = build_model(f, opts, err);
out:
    free(text);
    free(wbuf);
    tlr_strlist_free(&members);
    return st;
}

static tlr_status open_zip(tlr_kfile *f, const tlr_kfile_opts *opts, tlr_err *err)
{
    tlr_zip *z = tlr_zip_open(f->path, err);
    if (!z)
        return err->code;
    tlr_status st = zip_contents(f, z, opts, err);
    tlr_zip_close(z);
    return st;
}

/* An architecture JSON text, plus opts->weights_path when given. */
static tlr_status json_contents(tlr_kfile *f, const char *text, size_t len,
                                const tlr_kfile_opts *opts, tlr_err *err)
{
    f->format = TLR_FMT_JSON;
    if (opts && opts->config_path)
        return tlr_err_set(err, TLR_E_USAGE, "%s: --config goes with a weights-only file; this "
                           "file is itself the architecture (use --weights w.h5)", f->path);
    f->config_root = parse_config_text(text, len, f->path, err);
    if (!f->config_root)
        return err->code;
    version_from_json(f, f->config_root);
    if (opts && opts->weights_path) {
        struct stat wst;
        if (stat(opts->weights_path, &wst) != 0)
            return tlr_err_set(err, TLR_E_IO, "%s: no such file", opts->weights_path);
        f->h5 = tlr_h5_open(opts->weights_path, err);
        if (!f->h5)
            return err->code;
        f->weights_path = tlr_xstrdup(opts->weights_path);
        if (!tlr_h5_has_attr(f->h5, "/", "layer_names") &&
            !tlr_h5_has_attr(f->h5, "/", "layer_names0")) {
            if (tlr_h5_is_group(f->h5, "/model_weights"))
                f->weights_root = tlr_xstrdup("/model_weights");
            else if (!tlr_h5_is_group(f->h5, "/layers") &&
                     !tlr_h5_is_group(f->h5, "/_layer_checkpoint_dependencies"))
                return tlr_err_set(err, TLR_E_FORMAT, "%s: not a Keras weights file (no "
                                   "layer_names attribute)", opts->weights_path);
        } else {
            f->weights_root = tlr_xstrdup("/");
        }
        int had = f->keras_major;
        read_version_attrs(f, "/");
        if (!had && !f->keras_version)
            f->keras_major = 1;
    }
    return build_model(f, opts, err);
}

static tlr_status open_json(tlr_kfile *f, const tlr_kfile_opts *opts, tlr_err *err)
{
    f->format = TLR_FMT_JSON;
    size_t len;
    char *text = tlr_file_read(f->path, MAX_JSON_BYTES, &len, err);
    if (!text)
        return err->code;
    tlr_status st = json_contents(f, text, len, opts, err);
    free(text);
    return st;
}

/* Opening fails when no model came out of a JSON file; frees 'f' on any failure. */
static tlr_kfile *finish_open(tlr_kfile *f, tlr_status st, tlr_err *err)
{
    if (st == TLR_OK && !f->model && !f->subclassed && f->format == TLR_FMT_JSON)
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: no model in the JSON", f->path);
    if (st) {
        tlr_kfile_free(f);
        return NULL;
    }
    return f;
}

tlr_kfile *tlr_kfile_open(const char *path, const tlr_kfile_opts *opts, tlr_err *err)
{
    unsigned char head[2048];
    int ok;
    size_t n = read_head(path, head, sizeof head, err, &ok);
    if (!ok)
        return NULL;
    if (n == 0) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: file is empty", path);
        return NULL;
    }
    tlr_kfile *f = tlr_xcalloc(1, sizeof *f);
    f->path = tlr_xstrdup(path);
    tlr_status st;
    if (tlr_h5_is_hdf5(head, n))
        st = open_h5(f, opts, err);
    else if (tlr_zip_is_zip(head, n))
        st = open_zip(f, opts, err);
    else if (looks_like_json(head, n))
        st = open_json(f, opts, err);
    else
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: not an HDF5 file, a .keras zip archive or "
                         "architecture JSON", path);
    return finish_open(f, st, err);
}

tlr_kfile *tlr_kfile_open_buffer(const void *buf, size_t len, const char *label,
                                 const tlr_kfile_opts *opts, tlr_err *err)
{
    if (len == 0) {
        tlr_err_set(err, TLR_E_FORMAT, "%s: file is empty", label);
        return NULL;
    }
    size_t head = len < 2048 ? len : 2048;
    tlr_kfile *f = tlr_xcalloc(1, sizeof *f);
    f->path = tlr_xstrdup(label);
    tlr_status st;
    if (tlr_h5_is_hdf5(buf, head)) {
        f->h5 = tlr_h5_open_image(buf, len, label, err);
        st = f->h5 ? h5_contents(f, opts, err) : err->code;
    } else if (tlr_zip_is_zip(buf, head)) {
        tlr_zip *z = tlr_zip_open_buffer(buf, len, label, err);
        st = z ? zip_contents(f, z, opts, err) : err->code;
        tlr_zip_close(z);
    } else if (looks_like_json(buf, head)) {
        st = json_contents(f, buf, len, opts, err);
    } else {
        st = tlr_err_set(err, TLR_E_FORMAT, "%s: not an HDF5 file, a .keras zip archive or "
                         "architecture JSON", label);
    }
    return finish_open(f, st, err);
}

void tlr_kfile_free(tlr_kfile *f)
{
    if (!f)
        return;
    tlr_model_free(f->model);
    tlr_json_free(f->config_root);
    tlr_json_free(f->training_config);
    tlr_json_free(f->metadata);
    tlr_h5_close(f->h5);
    for (int i = 0; i < f->n_archive_members; i++)
        free(f->archive_members[i]);
    free(f->archive_members);
    free(f->archive_sizes);
    free(f->path);
    free(f->weights_path);
    free(f->keras_version);
    free(f->backend);
    free(f->weights_root);
    free(f->subclassed);
    free(f);
}

static void layer_gaps(const tlr_model *m, const char *prefix, tlr_strlist *out)
{
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        char *p = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        if (l->op == TLR_OP_MODEL)
            layer_gaps(l->inner, p, out);
        if (l->weights_unbound)
            tlr_strlist_push_owned(out, tlr_xasprintf(
                "layer '%s' (%s): its stored weights do not fit the layer (%s); it is shown "
                "from its configuration and not computed", p, l->class_name, l->cannot_run));
        else if (l->op == TLR_OP_UNKNOWN)
            tlr_strlist_push_owned(out, tlr_xasprintf(
                "layer '%s' (%s): its class is not in the file (a custom or subclassed layer: "
                "Python code), so its output shape, the shapes after it and its feature maps "
                "are unknown; a model saved as Functional, with the layer's inner layers as "
                "Keras layers, has them", p, l->class_name));
        free(p);
    }
}

void tlr_kfile_gaps(const tlr_kfile *f, tlr_strlist *out)
{
    if (f->subclassed)
        tlr_strlist_push_owned(out, tlr_xasprintf(
            "model class '%s' has no layer list (a subclassed model: its Python class is not "
            "in the file), so output shapes, feature maps and predictions are missing; save the "
            "architecture as a Functional model, or pass --config ARCH.json", f->subclassed));
    if (f->model)
        layer_gaps(f->model, "", out);
}

tlr_status tlr_kfile_load_weights(tlr_kfile *f, tlr_err *err)
{
    if (f->weights_loaded || !f->model || !f->h5)
        return TLR_OK;
    tlr_status st = tlr_weights_load(f->model, f->h5, &f->wctx, err);
    if (!st)
        f->weights_loaded = 1;
    return st;
}
