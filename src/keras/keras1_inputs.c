/* keras1_inputs.c - Keras 1 input names (see keras1_inputs.h).
 *
 * Keras 1.2 (keras/engine/topology.py, Layer.create_input_layer): when a Sequential's first
 * layer has no inbound node, the input is named prefix + str(K.get_uid(prefix)) with
 * prefix = layer.__class__.__name__.lower() + '_input_'; get_uid counts per prefix for the
 * whole session.  load_model -> Sequential.from_config rebuilds the layers in config order and
 * creates the input when it adds the first one (models.py Sequential.add), so in a fresh
 * session the counts follow that order.  A Sequential whose first layer is itself a model
 * gets no input of its own: its input is that model's. */
#include "keras/keras1_inputs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/strlist.h"
#include "base/xalloc.h"

typedef struct {
    tlr_strlist prefixes;
    int *counts;
} uid_table;

/* K.get_uid(prefix): 1 for the first use of 'prefix', then 2, 3, ... */
static int get_uid(uid_table *t, const char *prefix)
{
    for (size_t i = 0; i < t->prefixes.n; i++)
        if (strcmp(t->prefixes.items[i], prefix) == 0)
            return ++t->counts[i];
    tlr_strlist_push(&t->prefixes, prefix);
    t->counts = tlr_xrealloc(t->counts, t->prefixes.n * sizeof *t->counts);
    t->counts[t->prefixes.n - 1] = 1;
    return 1;
}

static const char *input_name(const tlr_model *m)
{
    return m->n_inputs ? m->layers[m->inputs[0].layer].name : NULL;
}

static void rename_layer(tlr_layer *l, char *name)
{
    free(l->name);
    l->name = name;
}

static void visit(tlr_model *m, uid_table *t);

/* A Sequential: its first layer is rebuilt (a nested model with its own input first), then
 * added, which creates the input; then the other layers, in order. */
static void visit_sequential(tlr_model *m, uid_table *t)
{
    tlr_layer *in = &m->layers[0];
    int implicit = m->n_layers > 1 && in->op == TLR_OP_INPUT && !in->config;
    for (int i = 0; i < m->n_layers; i++) {
        tlr_layer *l = &m->layers[i];
        if (l->inner)
            visit(l->inner, t);
        if (i != 1 || !implicit)
            continue;
        if (l->inner && input_name(l->inner)) {
            rename_layer(in, tlr_xstrdup(input_name(l->inner)));
        } else {
            char *prefix = tlr_xasprintf("%s_input_", l->class_name);
            for (char *p = prefix; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            rename_layer(in, tlr_xasprintf("%s%d", prefix, get_uid(t, prefix)));
            free(prefix);
        }
    }
}

/* A functional model rebuilds its layers in config order; nested models name their own. */
static void visit(tlr_model *m, uid_table *t)
{
    if (m->is_sequential && m->n_layers > 0) {
        visit_sequential(m, t);
        return;
    }
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].inner)
            visit(m->layers[i].inner, t);
}

void tlr_keras1_name_inputs(tlr_model *m)
{
    uid_table t = { TLR_STRLIST_INIT, NULL };
    visit(m, &t);
    tlr_strlist_free(&t.prefixes);
    free(t.counts);
}
