/* test_inspect.c - the get_weights() order the storage section reports, per Keras writer.
 *
 * Expectations derived by hand from Keras's sources: standalone Keras 2.2 Network.get_weights
 * walks model.layers and takes each layer's `weights` = trainable_weights +
 * non_trainable_weights, so a nested model gives its trainable layers' trainable variables
 * first and a frozen layer's variables with the non-trainable ones (keras/engine/network.py,
 * base_layer.py); tf.keras 2.x Model.weights walks its layers in order (training.py). */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "base/json.h"
#include "keras/kfile.h"
#include "report/storage.h"

/* outer = [inner = [a (Dense 4->3, frozen), bn (BatchNormalization), b (Dense 3->2)],
 *          c (Dense 2->1)], written by Keras 'VERSION'. */
#define NESTED_CONFIG \
    "{\"class_name\": \"Sequential\", \"keras_version\": \"%s\", \"backend\": \"tensorflow\","\
    " \"config\": {\"name\": \"outer\", \"layers\": ["\
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"inner\", \"layers\": ["\
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"a\", \"trainable\": false,"\
    " \"batch_input_shape\": [null, 4], \"units\": 3, \"activation\": \"linear\", \"use_bias\": true}},"\
    "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", \"trainable\": true,"\
    " \"axis\": -1, \"momentum\": 0.99, \"epsilon\": 0.001, \"center\": true, \"scale\": true}},"\
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"b\", \"trainable\": true, \"units\": 2,"\
    " \"activation\": \"linear\", \"use_bias\": true}}]}},"\
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"c\", \"trainable\": true, \"units\": 1,"\
    " \"activation\": \"sigmoid\", \"use_bias\": true}}]}}"

/* The get_weights() names of layer 'k', joined by spaces. */
static void order_of(const tlr_storage *storage, int k, char *out, size_t cap)
{
    out[0] = '\0';
    if (k >= storage->n_get_weights)
        return;
    const tlr_storage_layer_vars *l = &storage->get_weights[k];
    for (int i = 0; i < l->n_vars; i++) {
        if (out[0])
            strncat(out, " ", cap - strlen(out) - 1);
        strncat(out, l->vars[i].name, cap - strlen(out) - 1);
    }
}

static void check_order(const char *version, const char *want_inner, int want_trainable_first)
{
    char text[2048], got[512], what[64];
    snprintf(text, sizeof text, NESTED_CONFIG, version);
    snprintf(what, sizeof what, "Keras %s", version);
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open_buffer(text, strlen(text), "nested.json", NULL, &err);
    CHECK(f != NULL, "%s: open: %s", what, err.msg);
    if (!f)
        return;
    tlr_storage *s = tlr_inspect_storage_build(f, &err);
    CHECK(s != NULL, "%s: storage", what);
    if (s) {
        INT_EQ(s->get_weights_trainable_first, want_trainable_first, what);
        order_of(s, 0, got, sizeof got);
        STR_EQ(got, want_inner, what);
        order_of(s, 1, got, sizeof got);
        STR_EQ(got, "c/kernel c/bias", "a plain layer: kernel, bias");
        tlr_storage_free(s);
    }
    tlr_kfile_free(f);
}

/* top = [m1 = [m2 (frozen) = [bn, d]]] by Keras 2.2.4.  get_weights(m1) = T(m1) + N(m1):
 * T(m1) = T(m2) = [] (m2 frozen); N(m1) = N(m2) = T(bn) + T(d) + N(bn) + N(d)
 * = gamma, beta, kernel, bias, then moving_mean, moving_variance. */
static void frozen_two_deep(void)
{
    const char *text =
        "{\"class_name\": \"Sequential\", \"keras_version\": \"2.2.4\", \"backend\": \"tensorflow\","
        " \"config\": {\"name\": \"top\", \"layers\": ["
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m1\", \"layers\": ["
        "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m2\", \"trainable\": false,"
        " \"layers\": ["
        "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\","
        " \"batch_input_shape\": [null, 4], \"axis\": -1, \"center\": true, \"scale\": true}},"
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2,"
        " \"activation\": \"linear\", \"use_bias\": true}}]}}]}}]}}";
    tlr_err err = { 0 };
    tlr_kfile *f = tlr_kfile_open_buffer(text, strlen(text), "deep.json", NULL, &err);
    CHECK(f != NULL, "deep.json: %s", err.msg);
    if (!f)
        return;
    tlr_storage *s = tlr_inspect_storage_build(f, &err);
    char got[512];
    order_of(s, 0, got, sizeof got);
    STR_EQ(got, "bn/gamma bn/beta d/kernel d/bias bn/moving_mean bn/moving_variance",
           "a frozen model inside a nested one (Keras 2.2.4)");
    tlr_storage_free(s);
    tlr_kfile_free(f);
}

void test_inspect(void)
{
    frozen_two_deep();
    /* standalone: trainable variables of trainable layers, then the rest, each in layer order */
    check_order("2.2.4", "bn/gamma bn/beta b/kernel b/bias a/kernel a/bias bn/moving_mean "
                         "bn/moving_variance", 1);
    check_order("1.2.2", "bn/gamma bn/beta b/kernel b/bias a/kernel a/bias bn/moving_mean "
                         "bn/moving_variance", 1);
    /* tf.keras ("-tf", or 2.4 and later) and Keras 3: layer order */
    const char *layer_order = "a/kernel a/bias bn/gamma bn/beta bn/moving_mean "
                              "bn/moving_variance b/kernel b/bias";
    check_order("2.2.4-tf", layer_order, 0);
    check_order("2.9.0", layer_order, 0);
    check_order("3.3.3", layer_order, 0);
}
