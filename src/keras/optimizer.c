/* optimizer.c - the variables of a Keras 3 optimizer after load_model (see optimizer.h).
 *
 * Sources followed (keras-team/keras, keras/src/...):
 *   optimizers/base_optimizer.py  BaseOptimizer.__init__: an "iteration" variable (dtype
 *       "int": int64, int32 with JAX) and a float32 "learning_rate" variable unless the
 *       learning rate is a LearningRateSchedule or a callable; BaseOptimizer.build: one
 *       "average" per weight when use_ema, one "gradient_accumulator" per weight when
 *       gradient_accumulation_steps is set;
 *   optimizers/<class>.py  build(): the slots each class adds per weight;
 *   legacy/saving/legacy_h5_format.py  load_model_from_hdf5: with training_config and an
 *       optimizer_weights group, compile() then model.optimizer.build(model._trainable_variables),
 *       the model's *own* variables (none for Sequential / Functional);
 *   trainers/trainer.py  Trainer.compile_from_config: compile() then, once the model is built,
 *       self.optimizer.build(self.trainable_variables).
 * Slot variables take their weight's dtype (float32 here, 4 bytes). */
#include "keras/optimizer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/strlist.h"

/* Slots per trainable weight for each class, as its build() creates them; 'extra' is a
 * scalar some classes add once (Nadam's u_product, float32). */
typedef struct {
    const char *name;
    int slots;
    int extra;
} opt_class;

static const opt_class classes[] = {
    { "Adam", 2, 0 },       /* adam.py: momentum, velocity (+ velocity_hat with amsgrad) */
    { "AdamW", 2, 0 },      /* adamw.py: an Adam */
    { "SGD", 0, 0 },        /* sgd.py: momentum only when momentum != 0 */
    { "RMSprop", 1, 0 },    /* rmsprop.py: velocity (+ momentum, + average_gradient) */
    { "Adagrad", 1, 0 },    /* adagrad.py: accumulator */
    { "Adadelta", 2, 0 },   /* adadelta.py: accumulated_grad, accumulated_delta_var */
    { "Adamax", 2, 0 },     /* adamax.py: momentum, norm */
    { "Nadam", 2, 1 },      /* nadam.py: momentum, velocity; one u_product */
    { "Ftrl", 2, 0 },       /* ftrl.py: accumulator, linear */
    { "Lion", 1, 0 },       /* lion.py: momentum */
    { "Lamb", 2, 0 },       /* lamb.py: momentum, velocity */
    { "Adafactor", 1, 0 },  /* adafactor.py: velocity, plus r and c by shape (below) */
};

/* The optimizer entry of the compile record: training_config["optimizer_config"] in a legacy
 * .h5, compile_config["optimizer"] in a .keras archive.  A string or {class_name, config}. */
static const tlr_json *optimizer_spec(const tlr_kfile *f)
{
    const tlr_json *tc = f->training_config;
    if (!tc || !tlr_json_is_object(tc))
        return NULL;
    const tlr_json *spec = tlr_json_get(tc, f->format == TLR_FMT_KERAS_ZIP ? "optimizer"
                                                                          : "optimizer_config");
    if (!spec || tlr_json_is_null(spec))
        return NULL;
    return spec;
}

static const opt_class *find_class(const char *name)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcasecmp(name, classes[i].name) == 0) /* "adam" and "Adam" both deserialize */
            return &classes[i];
    return NULL;
}

/* Slots per weight from the class and its config (defaults when a setting is absent). */
static int class_slots(const opt_class *c, const tlr_json *cfg)
{
    int slots = c->slots;
    if (strcmp(c->name, "Adam") == 0 || strcmp(c->name, "AdamW") == 0)
        slots += tlr_json_get_bool(cfg, "amsgrad", 0);
    else if (strcmp(c->name, "SGD") == 0)
        slots += tlr_json_get_number(cfg, "momentum", 0.0) != 0.0;
    else if (strcmp(c->name, "RMSprop") == 0)
        slots += (tlr_json_get_number(cfg, "momentum", 0.0) > 0.0) +
                 tlr_json_get_bool(cfg, "centered", 0);
    /* base_optimizer.py build(): EMA averages and gradient accumulators, one per weight */
    slots += tlr_json_get_bool(cfg, "use_ema", 0);
    slots += tlr_json_get_number(cfg, "gradient_accumulation_steps", 0.0) != 0.0;
    return slots;
}

/* A float learning rate becomes a variable; a schedule (serialized as an object) or a
 * callable does not.  No setting means the class default, a float. */
static int lr_is_variable(const tlr_json *cfg)
{
    const tlr_json *lr = tlr_json_get(cfg, "learning_rate");
    return !lr || tlr_json_is_number(lr);
}

typedef struct {
    int64_t elems;  /* trainable elements */
    int vars;       /* trainable variables */
    int64_t rc;     /* Adafactor's factored r and c elements */
    int small;      /* Adafactor: weights of rank < 2, each with two float32 scalar placeholders */
} trainable_walk;

/* Trainable weights of every layer, nested models included (each shared layer once). */
static void walk_trainable(const tlr_model *m, trainable_walk *w)
{
    for (int i = 0; i < m->n_layers; i++) {
        const tlr_layer *l = &m->layers[i];
        if (l->inner) {
            walk_trainable(l->inner, w);
            continue;
        }
        for (int k = 0; k < l->n_weights; k++) {
            const tlr_weight *wt = &l->weights[k];
            if (!wt->trainable)
                continue;
            int64_t n = 1, rows = 1;
            for (int d = 0; d < wt->ndim; d++)
                n *= wt->shape[d];
            w->elems += n;
            w->vars++;
            if (wt->ndim < 2) {
                w->small++;
                continue;
            }
            /* r: shape[:-1]; c: shape[:-2] + shape[-1:] */
            for (int d = 0; d < wt->ndim - 1; d++)
                rows *= wt->shape[d];
            w->rc += rows + n / (wt->shape[wt->ndim - 2] ? wt->shape[wt->ndim - 2] : 1);
        }
    }
}

/* Trainable elements as the summary counts them (the layers' stored trainable parameters). */
static int64_t trainable_params(const tlr_model *m)
{
    int64_t n = 0;
    for (int i = 0; i < m->n_layers; i++)
        n += m->layers[i].params_trainable;
    return n;
}

/* A .keras optimizer of a class tlreport does not follow: what the archive stores under
 * optimizer/vars (the same optimizer, built on the same weights when it was saved). */
static int stored_state(const tlr_kfile *f, tlr_optimizer_state *out)
{
    tlr_strlist all = TLR_STRLIST_INIT;
    int found = 0;
    if (f->h5 && tlr_h5_datasets_under(f->h5, "/optimizer", &all, NULL) == TLR_OK) {
        for (size_t i = 0; i < all.n; i++) {
            char path[512];
            snprintf(path, sizeof path, "/optimizer/%s", all.items[i]);
            tlr_h5_dsinfo info;
            if (tlr_h5_dataset_info(f->h5, path, &info, NULL) != TLR_OK)
                continue;
            out->params += info.numel;
            out->bytes += info.numel * (int64_t)info.elem_size;
            out->n_variables++;
            found = 1;
        }
    }
    tlr_strlist_free(&all);
    return found;
}

/* The variables of a built optimizer: base ones, then the class's slots over the weights it
 * was built on (none for a legacy .h5). */
static void count_variables(const tlr_kfile *f, const opt_class *c, const tlr_json *cfg,
                            tlr_optimizer_state *out)
{
    int jax = f->backend && strcmp(f->backend, "jax") == 0;
    out->n_variables = 1 + out->lr_variable;
    out->params = 1 + out->lr_variable;
    out->bytes = (jax ? 4 : 8) + 4 * out->lr_variable;
    if (!c)
        return;
    out->slots = class_slots(c, cfg);
    out->n_variables += c->extra;
    out->params += c->extra;
    out->bytes += 4 * c->extra;
    if (!out->on_trainable)
        return;
    trainable_walk w = {0, 0, 0, 0};
    walk_trainable(f->model, &w);
    int64_t elems = trainable_params(f->model);
    out->n_variables += out->slots * w.vars;
    out->params += out->slots * elems;
    if (strcmp(c->name, "Adafactor") == 0) {
        out->n_variables += 2 * w.vars;
        out->params += w.rc + 2 * w.small;
    }
    out->bytes += 4 * (out->params - out->lr_variable - 1 - c->extra);
}

void tlr_optimizer_state_of(const tlr_kfile *f, tlr_optimizer_state *out)
{
    memset(out, 0, sizeof *out);
    if (f->keras_major != 3 || !f->model)
        return;
    const tlr_json *spec = optimizer_spec(f);
    if (!spec)
        return;
    if (f->format == TLR_FMT_H5_MODEL) {
        /* the legacy loader builds only when the file has an optimizer_weights group */
        if (!f->h5 || !tlr_h5_is_group(f->h5, "/optimizer_weights"))
            return;
    } else if (f->format == TLR_FMT_KERAS_ZIP) {
        out->on_trainable = 1;
    } else {
        return; /* an architecture JSON or bare weights: nothing compiles the model */
    }
    out->built = 1;
    const tlr_json *cfg = tlr_json_is_string(spec) ? NULL : tlr_json_get(spec, "config");
    const char *name = tlr_json_is_string(spec) ? tlr_json_string(spec, "")
                                                : tlr_json_get_string(spec, "class_name", "");
    const opt_class *c = find_class(name);
    out->class_name = c ? c->name : name;
    out->known = c != NULL;
    out->lr_variable = lr_is_variable(cfg);
    if (!c && out->on_trainable && stored_state(f, out))
        return;
    count_variables(f, c, cfg, out);
}
