/* test_optimizer.c - what model.summary() adds for the optimizer Keras 3 builds on load, and
 * the name Keras 1 gives a Sequential's input.
 *
 * Expected values:
 *   - tests/ref/optimizer/cases.json, written by tests/gen/keras_optimizer_ref.py: a Python
 *     re-statement of keras/src/optimizers/base_optimizer.py (BaseOptimizer.__init__, build),
 *     each class's build() (adam.py, sgd.py, rmsprop.py, nadam.py, adafactor.py, ...),
 *     keras/src/legacy/saving/legacy_h5_format.py (load_model_from_hdf5) and
 *     keras/src/trainers/trainer.py (Trainer.compile_from_config);
 *   - the corpus: totals printed by keras/src/utils/summary_utils.py print_summary (Total =
 *     trainable + non-trainable + optimizer, sizes by readable_memory_size), worked out below
 *     from the manifest's parameter counts; and for every Keras 3 .keras file, the optimizer
 *     state the archive itself stores (the same optimizer, built on the same weights);
 *   - Keras 1: keras/engine/topology.py Layer.create_input_layer names the input
 *     "<class>_input_<K.get_uid(prefix)>"; Keras 1 printouts of Cropping2D-first models show
 *     "cropping2d_input_1[0][0]". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "base/buf.h"
#include "base/json.h"
#include "keras/kfile.h"
#include "keras/optimizer.h"
#include "report/inspect.h"
#include "report/storage.h"
#include "report/summary.h"

static tlr_kfile *open_fixture(const char *name)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/tests/fixtures/models/%s", tlr_t_root(), name);
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "%s: %s", name, err.msg);
    return f;
}

/* The compile record a case stands for: {"optimizer_config": spec} in a legacy .h5,
 * {"optimizer": spec} in a .keras compile_config. */
static tlr_json *compile_record(const tlr_json *c)
{
    tlr_json *tc = tlr_json_new_object();
    const char *key = strcmp(tlr_json_get_string(c, "kind", ""), "h5") == 0 ? "optimizer_config"
                                                                            : "optimizer";
    tlr_json_add_item(tc, key, tlr_json_copy(tlr_json_get(c, "optimizer")));
    return tc;
}

static void run_case(const tlr_json *c)
{
    const char *name = tlr_json_get_string(c, "name", "?");
    tlr_kfile *f = open_fixture(tlr_json_get_string(c, "fixture", ""));
    if (!f)
        return;
    const tlr_json *spec = tlr_json_get(c, "optimizer");
    if (spec && !tlr_json_is_null(spec)) {
        tlr_json_free(f->training_config);
        f->training_config = compile_record(c);
    } else if (tlr_json_get(c, "compile")) { /* saved uncompiled */
        tlr_json_free(f->training_config);
        f->training_config = NULL;
    }
    const char *backend = tlr_json_get_string(c, "backend", NULL);
    if (backend) {
        free(f->backend);
        f->backend = strdup(backend);
    }
    tlr_optimizer_state st;
    tlr_optimizer_state_of(f, &st);
    int built = tlr_json_get_bool(c, "built", 0);
    INT_EQ(st.built, built, name);
    if (built) {
        char what[256];
        snprintf(what, sizeof what, "%s: variables", name);
        INT_EQ(st.n_variables, tlr_json_get_number(c, "variables", -1), what);
        snprintf(what, sizeof what, "%s: params", name);
        INT_EQ(st.params, tlr_json_get_number(c, "params", -1), what);
        snprintf(what, sizeof what, "%s: bytes", name);
        INT_EQ(st.bytes, tlr_json_get_number(c, "bytes", -1), what);
    }
    tlr_kfile_free(f);
}

static void reference_cases(void)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/tests/ref/optimizer/cases.json", tlr_t_root());
    size_t len = 0;
    char *text = tlr_t_slurp(path, &len);
    CHECK(text != NULL, "cannot read %s", path);
    if (!text)
        return;
    tlr_err err = { 0 };
    tlr_json *doc = tlr_json_parse(text, len, path, &err);
    CHECK(doc != NULL, "%s", err.msg);
    const tlr_json *cases = tlr_json_get(doc, "cases");
    OK(tlr_json_size(cases) >= 40, "every optimizer case present");
    for (const tlr_json *c = tlr_json_first(cases); c; c = tlr_json_next(c))
        run_case(c);
    tlr_json_free(doc);
    free(text);
}

static char *summary_text(const tlr_kfile *f, int style)
{
    tlr_summary *s = tlr_inspect_summary(f, style, 0, 0);
    tlr_buf b = TLR_BUF_INIT;
    tlr_summary_format(s, &b);
    tlr_inspect_summary_free(s);
    return tlr_buf_detach(&b);
}

/* The fixtures end to end: the optimizer line only in the Keras 3 printer, and the JSON
 * keeps the model's own total apart from the optimizer's. */
static void fixture_summaries(void)
{
    tlr_kfile *f = open_fixture("k3_functional.h5");
    if (!f)
        return;
    char *k3 = summary_text(f, -1);
    /* 875 trainable + 16 non-trainable weights (3,564 B, expect.json's totals) + iteration
     * (8 B) + learning_rate (4 B) = 893 (3,576 B) */
    STR_CONTAINS(k3, " Total params: 893 (3.49 KB)\n", "k3_functional total");
    STR_CONTAINS(k3, " Optimizer params: 2 (12.00 B)\n", "k3_functional optimizer line");
    free(k3);
    char *tf = summary_text(f, TLR_SUMMARY_TF213);
    OK(strstr(tf, "Optimizer") == NULL && strstr(tf, "Total params: 891 ("),
       "tf.keras printers never count the optimizer");
    free(tf);
    tlr_summary *s = tlr_inspect_summary(f, -1, 0, 0);
    tlr_json *j = tlr_summary_to_json(s);
    INT_EQ(tlr_json_get_number(j, "total_params", -1), 891, "json total is the model's");
    INT_EQ(tlr_json_get_number(j, "optimizer_params", -1), 2, "json optimizer_params");
    INT_EQ(tlr_json_get_number(j, "optimizer_bytes", -1), 12, "json optimizer_bytes");
    tlr_json *rd = tlr_json_new_object();
    tlr_inspect_optimizer_json(rd, s);
    const tlr_json *o = tlr_json_get(rd, "optimizer");
    OK(tlr_json_get_bool(o, "built", 0) && tlr_json_get_bool(o, "on_none", 0), "report data");
    STR_EQ(tlr_json_get_string(o, "summary_total_str", ""), "893", "report summary total");
    STR_EQ(tlr_json_get_string(o, "model_total_str", ""), "891", "report model total");
    STR_EQ(tlr_json_get_string(o, "size_str", ""), "12.00 B", "report size");
    tlr_json_free(rd);
    tlr_json_free(j);
    tlr_inspect_summary_free(s);
    tlr_kfile_free(f);

    f = open_fixture("k3_no_opt_weights.h5");
    if (f) {
        tlr_summary *n = tlr_inspect_summary(f, -1, 0, 0);
        tlr_json *nj = tlr_summary_to_json(n);
        OK(tlr_json_get(nj, "optimizer_params") == NULL, "no optimizer_weights: no key");
        tlr_json *rd2 = tlr_json_new_object();
        tlr_inspect_optimizer_json(rd2, n);
        OK(tlr_json_get(rd2, "optimizer") == NULL, "no optimizer_weights: no report data");
        tlr_json_free(rd2);
        tlr_json_free(nj);
        tlr_inspect_summary_free(n);
        tlr_kfile_free(f);
    }
}

/* The four total lines Keras 3 printed for two corpus files. */
static void corpus_totals(const char *dir)
{
    static const struct {
        const char *file, *tail;
    } want[] = {
        /* 55,050 weights (220,200 B) + iteration int64 + learning_rate float32 (12 B) */
        { "039-mnist-dense-k3.h5",
          " Total params: 55,052 (215.05 KB)\n Trainable params: 55,050 (215.04 KB)\n"
          " Non-trainable params: 0 (0.00 B)\n Optimizer params: 2 (12.00 B)\n" },
        /* Adam on 225,034 weights: 2 + 2 x 225,034 = 450,070; 12 + 8 x 225,034 B */
        { "047-mnist-cnn-zip-k3.keras",
          " Total params: 675,104 (2.58 MB)\n Trainable params: 225,034 (879.04 KB)\n"
          " Non-trainable params: 0 (0.00 B)\n Optimizer params: 450,070 (1.72 MB)\n" },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[2400];
        snprintf(path, sizeof path, "%s/%s", dir, want[i].file);
        tlr_err err = { 0 };
        tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
        CHECK(f != NULL, "%s: %s", want[i].file, err.msg);
        if (!f)
            continue;
        char *text = summary_text(f, -1);
        size_t n = strlen(text), k = strlen(want[i].tail);
        CHECK(n >= k && strcmp(text + n - k, want[i].tail) == 0, "%s: totals:\n%s",
              want[i].file, text);
        free(text);
        tlr_kfile_free(f);
    }
}

/* Keras 3 files: a .keras archive's optimizer equals what it stores; a legacy .h5 holds only
 * the base variables whatever it stores. */
static void corpus_optimizers(const char *dir)
{
    static const char *const files[] = {
        "039-mnist-dense-k3.h5", "040-nested-ae-k3.h5", "041-lstm-forecast-k3.h5",
        "042-potato-cnn-k3.h5", "043-conv-ae-cropping-k3.h5", "044-traffic-sign-k3.h5",
        "045-sudoku-digits-zip-k3.keras", "046-potato-augment-zip-k3.keras",
        "047-mnist-cnn-zip-k3.keras",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[2400];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        tlr_err err = { 0 };
        tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
        CHECK(f != NULL, "%s: %s", files[i], err.msg);
        if (!f)
            continue;
        tlr_optimizer_state st;
        tlr_optimizer_state_of(f, &st);
        OK(st.built && st.known, files[i]);
        if (f->format == TLR_FMT_KERAS_ZIP) {
            tlr_storage *sto = tlr_inspect_storage_build(f, &err);
            CHECK(sto != NULL, "%s: storage: %s", files[i], err.msg);
            if (sto) {
                INT_EQ(st.params, sto->optimizer.params, files[i]);
                INT_EQ(st.bytes, (int64_t)sto->optimizer.bytes, files[i]);
                INT_EQ(st.n_variables, sto->optimizer.count, files[i]);
            }
            tlr_storage_free(sto);
        } else {
            INT_EQ(st.params, 2, files[i]);
            INT_EQ(st.bytes, 12, files[i]);
        }
        tlr_kfile_free(f);
    }
}

static void corpus_keras1(const char *dir)
{
    char path[2400];
    snprintf(path, sizeof path, "%s/003-carnd-bc-full-k1.h5", dir);
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open(path, NULL, &err);
    CHECK(f != NULL, "003: %s", err.msg);
    if (!f)
        return;
    char *text = summary_text(f, -1);
    STR_CONTAINS(text, "cropping2d_4 (Cropping2D)        (None, 90, 320, 3)    0           "
                       "cropping2d_input_1[0][0]         \n", "Keras 1 input name");
    free(text);
    tlr_kfile_free(f);
}

static void corpus(void)
{
    const char *shared = tlr_t_shared();
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/corpus/models", shared ? shared : "");
    char probe[2200];
    snprintf(probe, sizeof probe, "%s/047-mnist-cnn-zip-k3.keras", dir);
    FILE *fp = shared ? fopen(probe, "rb") : NULL;
    if (!fp) {
        tlr_t_skip("optimizer corpus", "../shared/corpus not found");
        return;
    }
    fclose(fp);
    corpus_totals(dir);
    corpus_optimizers(dir);
    corpus_keras1(dir);
}

/* Keras 1: per-class uids in rebuild order; a nested Sequential names its own input. */
static void keras1_input_names(void)
{
    static const char cfg[] =
        "{\"class_name\": \"Sequential\", \"keras_version\": \"1.2.2\", \"config\": ["
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_7\", \"output_dim\": 4,"
        " \"batch_input_shape\": [null, 3], \"activation\": \"relu\", \"trainable\": true,"
        " \"bias\": true, \"input_dtype\": \"float32\"}},"
        "{\"class_name\": \"Sequential\", \"config\": ["
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_8\", \"output_dim\": 2,"
        " \"batch_input_shape\": [null, 4], \"activation\": \"linear\", \"trainable\": true,"
        " \"bias\": true, \"input_dtype\": \"float32\"}}]},"
        "{\"class_name\": \"Sequential\", \"config\": ["
        "{\"class_name\": \"Activation\", \"config\": {\"name\": \"activation_3\","
        " \"activation\": \"relu\", \"batch_input_shape\": [null, 2], \"trainable\": true,"
        " \"input_dtype\": \"float32\"}}]}]}";
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open_buffer(cfg, sizeof cfg - 1, "k1_nested.json", NULL, &err);
    CHECK(f != NULL && f->model, "k1 nested: %s", err.msg);
    if (!f || !f->model) {
        tlr_kfile_free(f);
        return;
    }
    const tlr_model *m = f->model;
    INT_EQ(m->n_layers, 4, "outer layers (input included)");
    if (m->n_layers == 4 && m->layers[2].inner && m->layers[3].inner) {
        STR_EQ(m->layers[0].name, "dense_input_1", "outer input");
        STR_EQ(m->layers[2].inner->layers[0].name, "dense_input_2", "second Dense-first model");
        STR_EQ(m->layers[3].inner->layers[0].name, "activation_input_1", "own prefix count");
    }
    char *text = summary_text(f, -1);
    STR_CONTAINS(text, "dense_input_1[0][0]", "summary shows it");
    free(text);
    tlr_kfile_free(f);

    f = open_fixture("k1_seq_th.h5");
    if (f) {
        text = summary_text(f, -1);
        STR_CONTAINS(text, " convolution2d_input_1[0][0]", "Convolution2D-first model");
        free(text);
        tlr_kfile_free(f);
    }
}

void test_optimizer(void)
{
    reference_cases();
    fixture_summaries();
    corpus();
    keras1_input_names();
}
