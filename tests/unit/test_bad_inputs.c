/* test_bad_inputs.c - broken inputs: tlr_kfile_open must fail (never crash) with a message
 * that starts with the file's path and states the facts (layer, key, shapes).
 *
 * Two sets: the generator's broken files (tests/fixtures/bad, substrings in expect.tsv), and
 * inputs written here into the scratch directory: architecture JSON, HDF5 files (through the
 * library's small HDF5 writer) and zip archives (a stored-only writer below), plus paths that
 * are not files at all.  The suite runs under ASan/UBSan in `make check SANITIZE=...`. */
#include <stdlib.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "h5write.h"
#include "harness.h"
#include "base/xalloc.h"
#include "keras/kfile.h"

/* ---- known tlreport failures (visible skips; see the report for the analysis) ------------- */

static const struct {
    const char *name, *why;
} bad_known[] = {
    { NULL, NULL }, /* none: every case behaves as expected */
};

static int bad_is_known(const char *name)
{
    for (size_t i = 0; i < sizeof bad_known / sizeof bad_known[0] && bad_known[i].name; i++)
        if (strcmp(bad_known[i].name, name) == 0) {
            char why[600];
            snprintf(why, sizeof why, "KNOWN FAILURE: %s", bad_known[i].why);
            tlr_t_skip(name, why);
            return 1;
        }
    return 0;
}

/* ---- the check ----------------------------------------------------------------------------- */

/* Opens 'path' (with 'opts'), which must fail with a message starting with 'path' (or with
 * 'alt', the other file named, when not NULL) and containing every substring in 'subs'
 * (NULL-terminated).  'name' identifies the case in messages and in bad_known. */
static void expect_fail(const char *name, const char *path, const tlr_kfile_opts *opts,
                        const char *alt, const char *const *subs)
{
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, opts, &err);
    int ok = f == NULL && err.code != TLR_OK;
    size_t pl = strlen(path);
    int starts = strncmp(err.msg, path, pl) == 0 && err.msg[pl] == ':';
    if (!starts && alt) {
        size_t al = strlen(alt);
        starts = strncmp(err.msg, alt, al) == 0 && err.msg[al] == ':';
    }
    /* the substrings are looked for after the path (a scratch path may contain anything) */
    const char *rest = err.msg;
    if (starts)
        rest = strchr(err.msg + (strncmp(err.msg, path, pl) == 0 ? pl : strlen(alt)), ':');
    const char *missing = NULL;
    for (int i = 0; subs[i] && !missing; i++)
        if (!rest || !strstr(rest, subs[i]))
            missing = subs[i];
    if (f)
        tlr_kfile_free(f);
    if (ok && starts && !missing) {
        tlr_t_pass();
        return;
    }
    if (bad_is_known(name))
        return;
    if (!ok)
        CHECK(0, "%s: %s opened without an error", name, path);
    else if (!starts)
        CHECK(0, "%s: message does not start with the path '%s': %s", name, path, err.msg);
    else
        CHECK(0, "%s: message lacks '%s': %s", name, missing, err.msg);
}

/* ---- the generator's broken files ---------------------------------------------------------- */

static void fixture_cases(void)
{
    char tsv[1024];
    snprintf(tsv, sizeof tsv, "%s/tests/fixtures/bad/expect.tsv", tlr_t_root());
    FILE *fp = fopen(tsv, "r");
    CHECK(fp != NULL, "cannot read %s", tsv);
    if (!fp)
        return;
    /* one line per (file, substring); lines of a file are consecutive */
    char line[1024], cur[1024] = "";
    const char *subs[16];
    char store[16][1024];
    int ns = 0, files = 0;
    for (;;) {
        char *got = fgets(line, sizeof line, fp);
        char file[1024] = "", sub[1024] = "";
        if (got) {
            line[strcspn(line, "\r\n")] = '\0';
            char *tab = strchr(line, '\t');
            if (!tab || !line[0])
                continue;
            *tab = '\0';
            snprintf(file, sizeof file, "%s", line);
            snprintf(sub, sizeof sub, "%s", tab + 1);
        }
        if (cur[0] && (!got || strcmp(file, cur) != 0)) {
            char path[2100];
            snprintf(path, sizeof path, "%s/tests/fixtures/bad/%s", tlr_t_root(), cur);
            subs[ns] = NULL;
            expect_fail(cur, path, NULL, NULL, subs);
            files++;
            ns = 0;
        }
        if (!got)
            break;
        snprintf(cur, sizeof cur, "%s", file);
        if (ns < 15) {
            snprintf(store[ns], sizeof store[ns], "%s", sub);
            subs[ns] = store[ns];
            ns++;
        }
    }
    fclose(fp);
    CHECK(files >= 10, "expect.tsv names %d files, want >= 10", files);
}

/* ---- writing broken files ------------------------------------------------------------------ */

static void tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tlr_t_tmpdir(), name);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL, "cannot write %s", path);
    if (!fp)
        return;
    fwrite(data, 1, n, fp);
    fclose(fp);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* A Sequential architecture (tf.keras 2.9 to_json) around the given layer list. */
static char *seq_json(const char *layers)
{
    return tlr_xasprintf("{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", "
                         "\"layers\": [%s]}, \"keras_version\": \"2.9.0\", \"backend\": "
                         "\"tensorflow\"}", layers);
}

/* A Functional architecture. */
static char *func_json(const char *layers, const char *inputs, const char *outputs)
{
    return tlr_xasprintf("{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", "
                         "\"layers\": [%s], \"input_layers\": %s, \"output_layers\": %s}, "
                         "\"keras_version\": \"2.9.0\", \"backend\": \"tensorflow\"}",
                         layers, inputs, outputs);
}

#define IN4 "{\"class_name\": \"InputLayer\", \"name\": \"in\", \"config\": {\"name\": \"in\", " \
            "\"batch_input_shape\": [null, 4]}, \"inbound_nodes\": []}"
#define IN5 "{\"class_name\": \"InputLayer\", \"name\": \"in2\", \"config\": {\"name\": \"in2\", " \
            "\"batch_input_shape\": [null, 5]}, \"inbound_nodes\": []}"
#define DENSE_A(src) "{\"class_name\": \"Dense\", \"name\": \"a\", \"config\": {\"name\": \"a\", " \
            "\"units\": 4}, \"inbound_nodes\": [[" src "]]}"
#define SEQ_DENSE(extra) "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", " extra "}}"

typedef struct {
    const char *name;
    int functional;          /* 0: 'layers' is a Sequential layer list; 1: functional parts;
                                2: the whole file text */
    const char *layers, *inputs, *outputs;
    const char *subs[4];
} json_case;

static const json_case json_cases[] = {
    { "cycle", 1, IN4 ", {\"class_name\": \"Dense\", \"name\": \"a\", \"config\": {\"name\": \"a\", "
      "\"units\": 4}, \"inbound_nodes\": [[[\"b\", 0, 0, {}]]]}, {\"class_name\": \"Dense\", "
      "\"name\": \"b\", \"config\": {\"name\": \"b\", \"units\": 4}, \"inbound_nodes\": "
      "[[[\"a\", 0, 0, {}]]]}", "[[\"in\", 0, 0]]", "[[\"b\", 0, 0]]", { "cycle" } },
    { "missing_inbound", 1, IN4 ", " DENSE_A("[\"zzz\", 0, 0, {}]"), "[[\"in\", 0, 0]]",
      "[[\"a\", 0, 0]]", { "'a'", "'zzz'" } },
    { "concat_mismatch", 1, "{\"class_name\": \"InputLayer\", \"name\": \"i1\", \"config\": "
      "{\"name\": \"i1\", \"batch_input_shape\": [null, 8, 8, 3]}, \"inbound_nodes\": []}, "
      "{\"class_name\": \"InputLayer\", \"name\": \"i2\", \"config\": {\"name\": \"i2\", "
      "\"batch_input_shape\": [null, 4, 4, 3]}, \"inbound_nodes\": []}, {\"class_name\": "
      "\"Concatenate\", \"name\": \"cat\", \"config\": {\"name\": \"cat\", \"axis\": -1}, "
      "\"inbound_nodes\": [[[\"i1\", 0, 0, {}], [\"i2\", 0, 0, {}]]]}",
      "[[\"i1\", 0, 0], [\"i2\", 0, 0]]", "[[\"cat\", 0, 0]]",
      { "'cat'", "(None, 8, 8, 3)", "(None, 4, 4, 3)" } },
    { "add_mismatch", 1, IN4 ", " IN5 ", {\"class_name\": \"Add\", \"name\": \"add\", \"config\": "
      "{\"name\": \"add\"}, \"inbound_nodes\": [[[\"in\", 0, 0, {}], [\"in2\", 0, 0, {}]]]}",
      "[[\"in\", 0, 0], [\"in2\", 0, 0]]", "[[\"add\", 0, 0]]",
      { "'add'", "(None, 4)", "(None, 5)" } },
    { "concat_axis", 1, IN4 ", {\"class_name\": \"Concatenate\", \"name\": \"cat\", \"config\": "
      "{\"name\": \"cat\", \"axis\": 7}, \"inbound_nodes\": [[[\"in\", 0, 0, {}], [\"in\", 0, 0, "
      "{}]]]}", "[[\"in\", 0, 0]]", "[[\"cat\", 0, 0]]", { "'cat'", "axis" } },
    { "node_index_range", 1, IN4 ", " DENSE_A("[\"in\", 5, 0, {}]"), "[[\"in\", 0, 0]]",
      "[[\"a\", 0, 0]]", { "'a'", "'in'" } },
    { "node_index_range_dense", 1, IN4 ", " DENSE_A("[\"in\", 0, 0, {}]") ", "
      "{\"class_name\": \"Dense\", \"name\": \"b\", \"config\": {\"name\": \"b\", "
      "\"units\": 2}, \"inbound_nodes\": [[[\"a\", 5, 0, {}]]]}", "[[\"in\", 0, 0]]",
      "[[\"b\", 0, 0]]", { "'b'", "a[5][0]" } },
    { "tensor_index_range", 1, IN4 ", " DENSE_A("[\"in\", 0, 3, {}]"), "[[\"in\", 0, 0]]",
      "[[\"a\", 0, 0]]", { "'a'", "'in'" } },
    { "input_layers_missing_layer", 1, IN4 ", " DENSE_A("[\"in\", 0, 0, {}]"),
      "[[\"nope\", 0, 0]]", "[[\"a\", 0, 0]]", { "'nope'" } },
    { "output_layers_missing_layer", 1, IN4 ", " DENSE_A("[\"in\", 0, 0, {}]"),
      "[[\"in\", 0, 0]]", "[[\"nope\", 0, 0]]", { "'nope'" } },
    { "no_class_name", 1, IN4 ", {\"name\": \"a\", \"config\": {\"name\": \"a\", \"units\": 4}, "
      "\"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}", "[[\"in\", 0, 0]]", "[[\"a\", 0, 0]]",
      { "class_name" } },
    { "no_input_layers", 2, "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", "
      "\"layers\": [" IN4 "], \"output_layers\": [[\"in\", 0, 0]]}}", NULL, NULL,
      { "input_layers" } },
    { "conv_kernel_too_big", 0, "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", "
      "\"filters\": 2, \"kernel_size\": [5, 5], \"strides\": [1, 1], \"padding\": \"valid\", "
      "\"batch_input_shape\": [null, 3, 3, 1]}}", NULL, NULL,
      { "'c'", "kernel", "(None, 3, 3, 1)" } },
    { "negative_dim", 0, SEQ_DENSE("\"units\": 3, \"batch_input_shape\": [null, -4]"), NULL, NULL,
      { "'d'", "-4" } },
    { "zero_dim_dense", 0, SEQ_DENSE("\"units\": 3, \"batch_input_shape\": [null, 0]"), NULL,
      NULL, { "'d'", "(None, 0)" } },
    { "zero_dim_conv", 0, "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", "
      "\"filters\": 2, \"kernel_size\": [1, 1], \"padding\": \"valid\", \"batch_input_shape\": "
      "[null, 0, 8, 1]}}", NULL, NULL, { "'c'", "(None, 0, 8, 1)" } },
    { "string_dim", 0, SEQ_DENSE("\"units\": 3, \"batch_input_shape\": [null, 4, \"x\"]"), NULL,
      NULL, { "'d'", "batch_input_shape" } },
    { "rank_11_input", 0, SEQ_DENSE("\"units\": 3, \"batch_input_shape\": [null, 1, 2, 3, 4, 5, "
      "6, 7, 8, 9, 10]"), NULL, NULL, { "'d'", "batch_input_shape" } },
    { "huge_dense", 0, SEQ_DENSE("\"units\": 1048576, \"batch_input_shape\": [null, 1048576]"),
      NULL, NULL, { "'d'", "1048576" } },
    { "huge_reshape", 0, "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"f\", "
      "\"batch_input_shape\": [null, 1048576, 1048576]}}, {\"class_name\": \"Reshape\", "
      "\"config\": {\"name\": \"r\", \"target_shape\": [1024, 1024, 1024, 1024]}}", NULL, NULL,
      { "1048576" } },
    { "flatten_overflow", 0, "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"f\", "
      "\"batch_input_shape\": [null, 4294967296, 4294967296]}}, {\"class_name\": \"Dense\", "
      "\"config\": {\"name\": \"d\", \"units\": 2}}", NULL, NULL,
      { "(None, 4294967296, 4294967296)" } },
    { "reshape_two_unknowns", 0, SEQ_DENSE("\"units\": 3, \"batch_input_shape\": [null, 4]")
      ", {\"class_name\": \"Reshape\", \"config\": {\"name\": \"r\", \"target_shape\": "
      "[-1, -1]}}", NULL, NULL, { "'r'", "-1" } },
    { "reshape_wrong_count", 0, SEQ_DENSE("\"units\": 3, \"batch_input_shape\": [null, 4]")
      ", {\"class_name\": \"Reshape\", \"config\": {\"name\": \"r\", \"target_shape\": [2, 2]}}",
      NULL, NULL, { "'r'", "(None, 3)" } },
    { "conv_on_vector", 0, SEQ_DENSE("\"units\": 3, \"batch_input_shape\": [null, 4]")
      ", {\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": 2, "
      "\"kernel_size\": [1, 1], \"padding\": \"valid\"}}", NULL, NULL, { "'c'", "(None, 3)" } },
    /* an unknown padding or activation is not a broken file: test_config_robust.c */
    { "zero_strides", 0, "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": "
      "2, \"kernel_size\": [3, 3], \"strides\": [0, 1], \"padding\": \"valid\", "
      "\"batch_input_shape\": [null, 8, 8, 1]}}", NULL, NULL, { "'c'", "strides" } },
    { "negative_filters", 0, "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", "
      "\"filters\": -2, \"kernel_size\": [3, 3], \"padding\": \"valid\", \"batch_input_shape\": "
      "[null, 8, 8, 1]}}", NULL, NULL, { "'c'", "filters" } },
    { "kernel_size_rank", 0, "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", "
      "\"filters\": 2, \"kernel_size\": [3, 3, 3], \"padding\": \"valid\", "
      "\"batch_input_shape\": [null, 8, 8, 1]}}", NULL, NULL, { "'c'", "kernel_size" } },
    { "zero_pool", 0, "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"p\", "
      "\"pool_size\": [0, 2], \"padding\": \"valid\", \"batch_input_shape\": [null, 8, 8, 1]}}",
      NULL, NULL, { "'p'", "pool" } },
    { "units_string", 0, SEQ_DENSE("\"units\": \"3\", \"batch_input_shape\": [null, 4]"), NULL,
      NULL, { "'d'", "units" } },
    { "units_zero", 0, SEQ_DENSE("\"units\": 0, \"batch_input_shape\": [null, 4]"), NULL, NULL,
      { "'d'", "units" } },
    { "no_input_shape", 0, SEQ_DENSE("\"units\": 3"), NULL, NULL, { "'d'", "input" } },
    { "duplicate_names", 0, SEQ_DENSE("\"units\": 3, \"batch_input_shape\": [null, 4]") ", "
      SEQ_DENSE("\"units\": 3"), NULL, NULL, { "'d'" } },
    { "empty_sequential", 0, "", NULL, NULL, { "no layers" } },
    { "layers_string", 2, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", "
      "\"layers\": \"dense\"}}", NULL, NULL, { "'layers'", "string" } },
    { "layers_number_elements", 2, "[1, 2, 3]", NULL, NULL, { "layer 0" } },
    { "no_config", 2, "{\"class_name\": \"Sequential\"}", NULL, NULL, { "config" } },
    { "subclassed_model", 2, "{\"class_name\": \"MyNet\", \"config\": {}}", NULL, NULL,
      { "MyNet" } },
    { "truncated_json", 2, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", "
      "\"layers\": [{\"class_name\": \"Dense\", \"con", NULL, NULL, { "invalid JSON" } },
    { "trailing_garbage", 2, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", "
      "\"layers\": [{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 3, "
      "\"batch_input_shape\": [null, 4]}}]}} garbage here", NULL, NULL, { "trailing" } },
    { "double_encoded_garbage", 2, "\"{\\\"class_name\\\": \\\"Sequen garbage\"", NULL, NULL,
      { "invalid JSON" } },
    { "double_encoded_array", 2, "\"[1, 2]\"", NULL, NULL, { "layer 0" } },
    { "bare_number", 2, "42", NULL, NULL, { "JSON" } },
};

static void json_case_run(const json_case *c)
{
    char path[1024], name[300];
    snprintf(name, sizeof name, "%s.json", c->name);
    tmp_path(path, sizeof path, name);
    char *text = c->functional == 2 ? tlr_xstrdup(c->layers)
                 : c->functional ? func_json(c->layers, c->inputs, c->outputs)
                 : seq_json(c->layers);
    write_text(path, text);
    free(text);
    expect_fail(c->name, path, NULL, NULL, c->subs);
}

/* JSON nested 100000 levels deep: refused, not a stack overflow. */
static void deep_json_case(void)
{
    char path[1024];
    tmp_path(path, sizeof path, "deep.json");
    size_t n = 100000;
    char *t = tlr_xmalloc(2 * n + 1);
    memset(t, '[', n);
    memset(t + n, ']', n);
    t[2 * n] = '\0';
    write_text(path, t);
    free(t);
    const char *subs[] = { "invalid JSON", NULL };
    expect_fail("deep_nesting", path, NULL, NULL, subs);
}

/* ---- HDF5 files ---------------------------------------------------------------------------- */

static const char dense_cfg[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [{\"class_name\": "
    "\"Dense\", \"config\": {\"name\": \"d\", \"units\": 3, \"batch_input_shape\": [null, 4]}}]}}";

/* A tf.keras 2.9 style model.save() file of one Dense(3) on (None, 4); 'how' breaks it:
 * 0 intact, 1 model_config "42", 2 no model_weights group, 3 layer_names names a missing group,
 * 4 an extra third weight, 5 kernel stored as (4,), 6 model_config a JSON string of garbage. */
static void write_dense_h5(const char *path, int how)
{
    tlr_err err = { 0 };
    tlr_h5w *w = tlr_h5w_create(path, &err);
    CHECK(w != NULL, "h5 create: %s", err.msg);
    if (!w)
        return;
    const char *cfg = how == 1 ? "42" : how == 6 ? "\"{\\\"class_name\\\": garbage\"" : dense_cfg;
    tlr_h5w_attr_string(w, "/", "model_config", cfg, TLR_H5W_ASCII, &err);
    tlr_h5w_attr_string(w, "/", "keras_version", "2.9.0", TLR_H5W_UTF8, &err);
    tlr_h5w_attr_string(w, "/", "backend", "tensorflow", TLR_H5W_UTF8, &err);
    if (how != 2) {
        const char *names[] = { "d" }, *missing[] = { "dense_9" };
        tlr_h5w_group(w, "model_weights", &err);
        tlr_h5w_attr_strings(w, "model_weights", "layer_names", how == 3 ? missing : names, 1,
                             TLR_H5W_VLEN, &err);
        tlr_h5w_attr_string(w, "model_weights", "keras_version", "2.9.0", TLR_H5W_ASCII, &err);
        tlr_h5w_attr_string(w, "model_weights", "backend", "tensorflow", TLR_H5W_ASCII, &err);
        tlr_h5w_group(w, "model_weights/d", &err);
        const char *wn[] = { "d/kernel:0", "d/bias:0", "d/extra:0" };
        tlr_h5w_attr_strings(w, "model_weights/d", "weight_names", wn, how == 4 ? 3 : 2,
                             TLR_H5W_VLEN, &err);
        float k[12] = { 0 }, b[3] = { 0 };
        int64_t kd[2] = { 4, 3 }, k1[1] = { 4 }, bd[1] = { 3 };
        tlr_h5w_dataset_f32(w, "model_weights/d/d/kernel:0", how == 5 ? 1 : 2,
                            how == 5 ? k1 : kd, k, &err);
        tlr_h5w_dataset_f32(w, "model_weights/d/d/bias:0", 1, bd, b, &err);
        if (how == 4)
            tlr_h5w_dataset_f32(w, "model_weights/d/d/extra:0", 1, bd, b, &err);
    }
    tlr_status st = tlr_h5w_close(w, &err);
    CHECK(st == TLR_OK && err.code == TLR_OK, "writing %s: %s", path, err.msg);
}

static void h5_cases(void)
{
    static const struct {
        const char *name;
        int how;
        const char *subs[4];
    } cases[] = {
        { "h5_intact_control", 0, { NULL } },
        { "h5_model_config_number", 1, { "config", "JSON" } },
        { "h5_no_model_weights", 2, { "model_weights" } },
        { "h5_layer_names_missing_group", 3, { "dense_9", "missing" } },
        { "h5_extra_weight", 4, { "'d'", "3" } },
        { "h5_kernel_wrong_rank", 5, { "'d'", "kernel", "(4,3)" } },
        { "h5_model_config_double_garbage", 6, { "model_config" } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1024], name[300];
        snprintf(name, sizeof name, "%s.h5", cases[i].name);
        tmp_path(path, sizeof path, name);
        write_dense_h5(path, cases[i].how);
        if (cases[i].how == 0) {
            /* the control: the writer makes files tlreport opens */
            tlr_err err = { 0 };
            tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
            CHECK(f != NULL, "control file does not open: %s", err.msg);
            tlr_kfile_free(f);
            continue;
        }
        expect_fail(cases[i].name, path, NULL, NULL, cases[i].subs);
    }
}

/* An architecture JSON paired (--weights) with a save_weights() file of another model: the
 * JSON's conv2d has 8 filters, the file's conv2d_1 holds a (3,3,3,4) kernel.  Keras pairs the
 * weighted layers by position and reports the shape mismatch. */
static void wrong_arch_case(void)
{
    char jpath[1024], wpath[1024];
    tmp_path(jpath, sizeof jpath, "arch8.json");
    tmp_path(wpath, sizeof wpath, "weights4.h5");
    write_text(jpath, "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": "
                      "[{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d\", "
                      "\"filters\": 8, \"kernel_size\": [3, 3], \"strides\": [1, 1], "
                      "\"padding\": \"valid\", \"batch_input_shape\": [null, 16, 16, 3]}}]}, "
                      "\"keras_version\": \"2.4.0\", \"backend\": \"tensorflow\"}");
    tlr_err err = { 0 };
    tlr_h5w *w = tlr_h5w_create(wpath, &err);
    if (w) {
        const char *ln[] = { "conv2d_1" }, *wn[] = { "conv2d_1/kernel:0", "conv2d_1/bias:0" };
        tlr_h5w_attr_strings(w, "/", "layer_names", ln, 1, TLR_H5W_FIXED, &err);
        tlr_h5w_attr_string(w, "/", "keras_version", "2.4.0", TLR_H5W_ASCII, &err);
        tlr_h5w_attr_string(w, "/", "backend", "tensorflow", TLR_H5W_ASCII, &err);
        tlr_h5w_group(w, "conv2d_1", &err);
        tlr_h5w_attr_strings(w, "conv2d_1", "weight_names", wn, 2, TLR_H5W_FIXED, &err);
        float k[108] = { 0 }, b[4] = { 0 };
        int64_t kd[4] = { 3, 3, 3, 4 }, bd[1] = { 4 };
        tlr_h5w_dataset_f32(w, "conv2d_1/conv2d_1/kernel:0", 4, kd, k, &err);
        tlr_h5w_dataset_f32(w, "conv2d_1/conv2d_1/bias:0", 1, bd, b, &err);
        tlr_h5w_close(w, &err);
    }
    CHECK(err.code == TLR_OK, "writing %s: %s", wpath, err.msg);
    tlr_kfile_opts o = { .weights_path = wpath };
    const char *subs[] = { "conv2d", "(3,3,3,4)", NULL };
    expect_fail("wrong_arch_weights", jpath, &o, wpath, subs);

    /* the weights of the fixture arch.json with another fixture's weights file */
    char a[1024], b2[1024];
    snprintf(a, sizeof a, "%s/tests/fixtures/models/arch.json", tlr_t_root());
    snprintf(b2, sizeof b2, "%s/tests/fixtures/models/k20_seq_list.h5", tlr_t_root());
    tlr_kfile_opts o2 = { .weights_path = b2 };
    const char *subs2[] = { "conv2d", "(3,3,3,8)", NULL };
    expect_fail("fixture_arch_other_weights", a, &o2, b2, subs2);

    /* --weights that is no weights file, or no file */
    char txt[1024], none[1024];
    tmp_path(txt, sizeof txt, "weights.txt");
    write_text(txt, "these are not weights\n");
    tlr_kfile_opts o3 = { .weights_path = txt };
    const char *subs3[] = { "HDF5", NULL };
    expect_fail("weights_not_hdf5", jpath, &o3, txt, subs3);
    tmp_path(none, sizeof none, "no-such-weights.h5");
    tlr_kfile_opts o4 = { .weights_path = none };
    const char *subs4[] = { "no such file", NULL };
    expect_fail("weights_missing_file", jpath, &o4, none, subs4);

    /* --config that is not JSON, for a weights-only file */
    char wo[1024], cfg[1024];
    snprintf(wo, sizeof wo, "%s/tests/fixtures/models/arch_weights.h5", tlr_t_root());
    tmp_path(cfg, sizeof cfg, "config-garbage.json");
    write_text(cfg, "{\"class_name\": ");
    tlr_kfile_opts o5 = { .config_path = cfg };
    const char *subs5[] = { "invalid JSON", NULL };
    expect_fail("config_garbage", wo, &o5, cfg, subs5);
}

/* ---- zip archives (stored members, no compression) ----------------------------------------- */

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void put16(tlr_buf *b, unsigned v)
{
    unsigned char x[2] = { (unsigned char)(v & 0xFF), (unsigned char)((v >> 8) & 0xFF) };
    tlr_buf_append(b, x, 2);
}

static void put32(tlr_buf *b, uint32_t v)
{
    put16(b, v & 0xFFFFu);
    put16(b, (v >> 16) & 0xFFFFu);
}

typedef struct {
    const char *name;
    const void *data;
    size_t len;
} zmember;

static void write_zip(const char *path, const zmember *m, int n)
{
    tlr_buf b = TLR_BUF_INIT, cd = TLR_BUF_INIT;
    for (int i = 0; i < n; i++) {
        uint32_t off = (uint32_t)b.len, crc = crc32_of(m[i].data, m[i].len);
        size_t nl = strlen(m[i].name);
        put32(&b, 0x04034b50u);
        put16(&b, 20); put16(&b, 0); put16(&b, 0);          /* version, flags, stored */
        put16(&b, 0); put16(&b, 0x21);                      /* time, date (1980-01-01) */
        put32(&b, crc); put32(&b, (uint32_t)m[i].len); put32(&b, (uint32_t)m[i].len);
        put16(&b, (unsigned)nl); put16(&b, 0);
        tlr_buf_append(&b, m[i].name, nl);
        tlr_buf_append(&b, m[i].data, m[i].len);
        put32(&cd, 0x02014b50u);
        put16(&cd, 20); put16(&cd, 20); put16(&cd, 0); put16(&cd, 0);
        put16(&cd, 0); put16(&cd, 0x21);
        put32(&cd, crc); put32(&cd, (uint32_t)m[i].len); put32(&cd, (uint32_t)m[i].len);
        put16(&cd, (unsigned)nl); put16(&cd, 0); put16(&cd, 0); put16(&cd, 0); put16(&cd, 0);
        put32(&cd, 0); put32(&cd, off);
        tlr_buf_append(&cd, m[i].name, nl);
    }
    uint32_t cd_off = (uint32_t)b.len;
    if (cd.len)
        tlr_buf_append(&b, cd.data, cd.len);
    put32(&b, 0x06054b50u);
    put16(&b, 0); put16(&b, 0); put16(&b, (unsigned)n); put16(&b, (unsigned)n);
    put32(&b, (uint32_t)cd.len); put32(&b, cd_off); put16(&b, 0);
    write_bytes(path, b.data, b.len);
    tlr_buf_free(&b);
    tlr_buf_free(&cd);
}

static const char k3_meta[] = "{\"keras_version\": \"3.10.0\", \"date_saved\": "
                              "\"2024-05-01@12:00:00\"}";
static const char k3_config[] =
    "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", "
    "\"layers\": [{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"config\": "
    "{\"batch_shape\": [null, 4], \"dtype\": \"float32\", \"name\": \"input_layer\"}}, "
    "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", "
    "\"units\": 3}}]}}";

static void zip_cases(void)
{
    char path[1024];
    /* an empty archive: only the end-of-central-directory record */
    tmp_path(path, sizeof path, "empty.zip");
    write_zip(path, NULL, 0);
    const char *s_empty[] = { "zip", NULL };
    expect_fail("empty_zip", path, NULL, NULL, s_empty);

    /* a zip that is not a .keras archive */
    tmp_path(path, sizeof path, "notes.zip");
    zmember notes[] = { { "readme.txt", "hello\n", 6 } };
    write_zip(path, notes, 1);
    const char *s_notes[] = { "config.json", NULL };
    expect_fail("zip_not_keras", path, NULL, NULL, s_notes);

    /* config.json that is not JSON */
    tmp_path(path, sizeof path, "badcfg.keras");
    zmember badcfg[] = { { "metadata.json", k3_meta, sizeof k3_meta - 1 },
                         { "config.json", "{\"class_name\": [", 16 } };
    write_zip(path, badcfg, 2);
    const char *s_badcfg[] = { "config.json", "invalid JSON", NULL };
    expect_fail("keras_config_garbage", path, NULL, NULL, s_badcfg);

    /* model.weights.h5 that is not HDF5 */
    tmp_path(path, sizeof path, "badweights.keras");
    zmember badw[] = { { "metadata.json", k3_meta, sizeof k3_meta - 1 },
                       { "config.json", k3_config, sizeof k3_config - 1 },
                       { "model.weights.h5", "not hdf5 at all", 15 } };
    write_zip(path, badw, 3);
    const char *s_badw[] = { "model.weights.h5", NULL };
    expect_fail("keras_weights_garbage", path, NULL, NULL, s_badw);

    /* metadata.json that is not JSON */
    tmp_path(path, sizeof path, "badmeta.keras");
    zmember badm[] = { { "metadata.json", "{{{", 3 },
                       { "config.json", k3_config, sizeof k3_config - 1 } };
    write_zip(path, badm, 2);
    const char *s_badm[] = { "metadata.json", NULL };
    expect_fail("keras_metadata_garbage", path, NULL, NULL, s_badm);

    /* a valid archive whose weights store lacks the Dense layer's variables */
    char h5[1024];
    tmp_path(h5, sizeof h5, "empty-store.h5");
    tlr_err err = { 0 };
    tlr_h5w *w = tlr_h5w_create(h5, &err);
    if (w) {
        tlr_h5w_group(w, "layers", &err);
        tlr_h5w_close(w, &err);
    }
    size_t len = 0;
    FILE *fp = fopen(h5, "rb");
    char *data = NULL;
    if (fp) {
        fseek(fp, 0, SEEK_END);
        len = (size_t)ftell(fp);
        fseek(fp, 0, SEEK_SET);
        data = tlr_xmalloc(len + 1);
        len = fread(data, 1, len, fp);
        fclose(fp);
    }
    CHECK(data != NULL, "cannot read back %s", h5);
    if (data) {
        tmp_path(path, sizeof path, "noweights.keras");
        zmember now[] = { { "metadata.json", k3_meta, sizeof k3_meta - 1 },
                          { "config.json", k3_config, sizeof k3_config - 1 },
                          { "model.weights.h5", data, len } };
        write_zip(path, now, 3);
        const char *s_now[] = { "'dense'", NULL };
        expect_fail("keras_weights_missing_layer", path, NULL, NULL, s_now);
        free(data);
    }
}

/* ---- not files ----------------------------------------------------------------------------- */

static void path_cases(void)
{
    char path[1024];
    tmp_path(path, sizeof path, "random.bin");
    unsigned char r[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof r; i++) {
        x = x * 1103515245u + 12345u;
        r[i] = (unsigned char)(x >> 16);
    }
    write_bytes(path, r, sizeof r);
    const char *s_rand[] = { "not an HDF5 file", NULL };
    expect_fail("random_bytes", path, NULL, NULL, s_rand);

    /* HDF5 signature followed by garbage */
    tmp_path(path, sizeof path, "fake-signature.h5");
    memcpy(r, "\x89HDF\r\n\x1a\n", 8);
    write_bytes(path, r, sizeof r);
    const char *s_sig[] = { "HDF5", NULL };
    expect_fail("hdf5_signature_garbage", path, NULL, NULL, s_sig);

    tmp_path(path, sizeof path, "a-directory.h5");
    mkdir(path, 0700);
    const char *s_dir[] = { "directory", NULL };
    expect_fail("directory", path, NULL, NULL, s_dir);

    tmp_path(path, sizeof path, "does-not-exist.h5");
    const char *s_none[] = { "no such file", NULL };
    expect_fail("missing_file", path, NULL, NULL, s_none);

    tmp_path(path, sizeof path, "one-byte.h5");
    write_bytes(path, "\x89", 1);
    const char *s_one[] = { "not an HDF5 file", NULL };
    expect_fail("one_byte", path, NULL, NULL, s_one);
}

void test_bad_inputs(void)
{
    fixture_cases();
    for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++)
        json_case_run(&json_cases[i]);
    deep_json_case();
    h5_cases();
    wrong_arch_case();
    zip_cases();
    path_cases();
}
