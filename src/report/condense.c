/* condense.c - the shorter lists of index.html (see condense.h). */
#include "report/condense.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"

/* Adds obj.<key>_head, a copy of the items of 'list' for which keep(item) holds (every item
 * when keep is NULL) up to TLR_CONDENSE_ROWS, and obj.<key>_more, how many of 'list' it left
 * out.  Also the has_<key>_head flag the renderer gives every array. */
static void add_head(tlr_json *obj, const char *key, const tlr_json *list,
                     int (*keep)(const tlr_json *))
{
    tlr_buf name = TLR_BUF_INIT;
    tlr_buf_printf(&name, "%s_head", key);
    tlr_json *head = tlr_json_add_array(obj, name.data);
    int shown = 0;
    for (const tlr_json *m = tlr_json_first(list); m && shown < TLR_CONDENSE_ROWS;
         m = tlr_json_next(m))
        if (!keep || keep(m)) {
            tlr_json_add_item(head, NULL, tlr_json_copy(m));
            shown++;
        }
    tlr_buf_truncate(&name, 0);
    tlr_buf_printf(&name, "has_%s_head", key);
    tlr_json_add_bool(obj, name.data, shown > 0);
    tlr_buf_truncate(&name, 0);
    tlr_buf_printf(&name, "%s_more", key);
    tlr_json_add_number(obj, name.data, (double)(tlr_json_size(list) - shown));
    tlr_buf_free(&name);
}

/* Pregunta 3: the expanded summary by block and nested model (condense_blocks.c). */
static void condense_summary(tlr_json *summary)
{
    const tlr_json *rows = tlr_json_get(summary, "rows");
    if (tlr_json_is_array(rows))
        tlr_condense_summary_rows(summary, rows);
}

static void condense_frozen(tlr_json *summary)
{
    const tlr_json *frozen = tlr_json_get(summary, "frozen");
    if (tlr_json_is_array(frozen))
        add_head(summary, "frozen", frozen, NULL);
}

/* Pregunta 3: the first TLR_CONDENSE_LINES lines of model.summary() as summary.text_head and
 * how many lines it leaves out as summary.text_more. */
static void condense_summary_text(tlr_json *summary)
{
    const char *text = tlr_json_get_string(summary, "text", NULL);
    if (!text)
        return;
    const char *p = text;
    int lines = 0, more = 0;
    for (; *p && lines < TLR_CONDENSE_LINES; p++)
        lines += *p == '\n';
    for (const char *q = p; *q; q++)
        more += *q == '\n';
    more += *p != '\0'; /* the last line has no newline */
    tlr_buf head = TLR_BUF_INIT;
    tlr_buf_append(&head, text, (size_t)(p - text));
    while (head.len > 0 && head.data[head.len - 1] == '\n')
        tlr_buf_truncate(&head, head.len - 1);
    tlr_json_add_string(summary, "text_head", tlr_buf_cstr(&head));
    tlr_json_add_number(summary, "text_more", more);
    tlr_buf_free(&head);
}

/* One layer's stored arrays while they are being gathered. */
typedef struct {
    const char *layer;
    int count, trainable;
    tlr_buf shapes;
} layer_acc;

/* The row of 'layer' in acc[0..*n), added at the end when new (rows keep the order in which
 * layers first appear: a file may store a layer's non-trainable arrays after all the
 * trainable ones, and the row must still be one). */
static layer_acc *layer_find(layer_acc **acc, int *n, int *cap, const char *layer)
{
    for (int i = *n - 1; i >= 0; i--)
        if (strcmp((*acc)[i].layer, layer) == 0)
            return &(*acc)[i];
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *acc = tlr_xrealloc(*acc, sizeof **acc * (size_t)*cap);
    }
    layer_acc *a = &(*acc)[(*n)++];
    *a = (layer_acc){ layer, 0, 0, TLR_BUF_INIT };
    return a;
}

static void layer_emit(tlr_json *table, layer_acc *a)
{
    tlr_json *row = tlr_json_push_object(table);
    tlr_json_add_string(row, "layer", a->layer);
    tlr_json_add_number(row, "count", a->count);
    tlr_json_add_string(row, "shapes", tlr_buf_cstr(&a->shapes));
    tlr_json_add_bool(row, "trainable", a->trainable == a->count);
    tlr_json_add_bool(row, "partly", a->trainable > 0 && a->trainable < a->count);
    tlr_buf_free(&a->shapes);
}

/* storage.layer_arrays: the arrays of storage.weight_groups[].weights, one row per layer_path
 * with their count, shapes in stored order and how many are trainable. */
static tlr_json *layer_arrays(tlr_json *storage, const tlr_json *groups)
{
    layer_acc *acc = NULL;
    int n = 0, cap = 0;
    for (const tlr_json *g = tlr_json_first(groups); g; g = tlr_json_next(g))
        for (const tlr_json *w = tlr_json_first(tlr_json_get(g, "weights")); w;
             w = tlr_json_next(w)) {
            layer_acc *a = layer_find(&acc, &n, &cap,
                                      tlr_json_get_string(w, "layer_path", "?"));
            tlr_buf_printf(&a->shapes, "%s%s", a->count ? ", " : "",
                           tlr_json_get_string(w, "shape_str", "?"));
            a->count++;
            a->trainable += tlr_json_get_bool(w, "trainable", 0);
        }
    tlr_json *table = tlr_json_add_array(storage, "layer_arrays");
    for (int i = 0; i < n; i++)
        layer_emit(table, &acc[i]);
    free(acc);
    tlr_json_add_bool(storage, "has_layer_arrays", n > 0);
    return table;
}

/* Pregunta 1: the per-layer table of stored arrays and the heads of the long lists. */
static void condense_storage(tlr_json *storage)
{
    const tlr_json *groups = tlr_json_get(storage, "weight_groups");
    if (!tlr_json_is_array(groups))
        return;
    add_head(storage, "weight_groups", groups, NULL);
    add_head(storage, "layer_arrays", layer_arrays(storage, groups), NULL);
    const tlr_json *gw = tlr_json_get(storage, "get_weights");
    if (tlr_json_is_array(gw))
        add_head(storage, "get_weights", gw, NULL);
}

void tlr_condense_view(tlr_json *view)
{
    tlr_json_set_bool(view, "condensed", 1);
    tlr_json *storage = tlr_json_get(view, "storage");
    if (tlr_json_is_object(storage))
        condense_storage(storage);
    tlr_json *summary = tlr_json_get(view, "summary");
    if (tlr_json_is_object(summary)) {
        condense_summary(summary);
        condense_summary_text(summary);
        condense_frozen(summary);
    }
    tlr_json *layers = tlr_json_get(view, "layers");
    if (tlr_json_is_object(layers) && tlr_json_is_array(tlr_json_get(layers, "rows")))
        add_head(layers, "rows", tlr_json_get(layers, "rows"), NULL);
    tlr_json *wstats = tlr_json_get(view, "weights_stats");
    if (tlr_json_is_array(wstats))
        add_head(view, "weights_stats", wstats, NULL);
}
