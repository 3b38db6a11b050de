/* summary_subclassed.c - objects and layers of a model without a layer list, from the weights
 * tree (summary_subclassed.h). */
#include "report/summary_subclassed.h"

#include <stdlib.h>
#include <string.h>

#include "base/strlist.h"
#include "base/xalloc.h"
#include "keras/shape.h"
#include "report/reportdata.h"

/* A tracked sub-object while the rows are gathered: its own arrays and its layers. */
typedef struct {
    tlr_sub_row own;
    tlr_sub_row *layers;
    int n_layers;
} sub_object;

typedef struct {
    sub_object *v;
    int n;
} sub_objects;

/* The parts of a stored path, without empty parts and the containers Keras inserts. */
static void split_parts(const char *p, tlr_strlist *out)
{
    char *s = tlr_xstrdup(p);
    for (char *c = s; *c; c++)
        if (*c == '\\')
            *c = '/';
    for (char *tok = strtok(s, "/"); tok; tok = strtok(NULL, "/"))
        if (strcmp(tok, "layers") != 0 && strcmp(tok, "_layer_checkpoint_dependencies") != 0)
            tlr_strlist_push(out, tok);
    free(s);
}

static char *join_parts(const tlr_strlist *parts, size_t from)
{
    tlr_buf b = TLR_BUF_INIT;
    for (size_t i = from; i < parts->n; i++) {
        if (i > from)
            tlr_buf_putc(&b, '/');
        tlr_buf_puts(&b, parts->items[i]);
    }
    return tlr_buf_detach(&b);
}

static void row_init(tlr_sub_row *r, const char *path, const char *name, int depth)
{
    memset(r, 0, sizeof *r);
    r->path = tlr_xstrdup(path);
    r->name = tlr_xstrdup(name);
    r->depth = depth;
    r->shapes = tlr_xstrdup("");
}

static void row_add_array(tlr_sub_row *r, const tlr_shape *shape)
{
    char s[160];
    tlr_shape_str(shape, s, sizeof s);
    char *joined = r->shapes[0] ? tlr_xasprintf("%s, %s", r->shapes, s) : tlr_xstrdup(s);
    free(r->shapes);
    r->shapes = joined;
    int64_t n = 1;
    for (int i = 0; i < shape->ndim; i++)
        n *= shape->d[i] < 0 ? 0 : shape->d[i];
    r->n_arrays++;
    r->params += n;
}

static sub_object *object_of(sub_objects *objs, const char *name)
{
    for (int i = 0; i < objs->n; i++)
        if (strcmp(objs->v[i].own.name, name) == 0)
            return &objs->v[i];
    objs->v = tlr_xrealloc(objs->v, (size_t)(objs->n + 1) * sizeof *objs->v);
    sub_object *o = &objs->v[objs->n++];
    memset(o, 0, sizeof *o);
    row_init(&o->own, name, name, 0);
    return o;
}

/* Adds one stored array to object 'obj', in its layer 'inner' ("" for the object's own). */
static void add_array(sub_objects *objs, const char *obj, const char *inner, const tlr_shape *sh)
{
    sub_object *o = object_of(objs, obj);
    tlr_sub_row *r = &o->own;
    if (inner[0]) {
        r = NULL;
        for (int i = 0; i < o->n_layers && !r; i++)
            if (strcmp(o->layers[i].name, inner) == 0)
                r = &o->layers[i];
        if (!r) {
            o->layers = tlr_xrealloc(o->layers, (size_t)(o->n_layers + 1) * sizeof *o->layers);
            r = &o->layers[o->n_layers++];
            char *path = tlr_xasprintf("%s/%s", obj, inner);
            row_init(r, path, inner, 1);
            free(path);
        }
    }
    row_add_array(r, sh);
}

/* A legacy group: the layer is the group; its weight names give the layers inside it. */
static void legacy_group_rows(sub_objects *objs, const tlr_storage_group *g)
{
    const char *obj = g->name ? g->name : g->group;
    for (int k = 0; k < g->n_arrays; k++) {
        const char *nm = g->arrays[k].name;
        const char *slash = strrchr(nm, '/');
        char *dir = slash ? tlr_xstrndup(nm, (size_t)(slash - nm)) : tlr_xstrdup("");
        tlr_strlist parts = TLR_STRLIST_INIT;
        split_parts(dir, &parts);
        size_t from = parts.n && strcmp(parts.items[0], obj) == 0 ? 1 : 0;
        char *inner = join_parts(&parts, from);
        add_array(objs, obj, inner, &g->arrays[k].shape);
        free(inner);
        tlr_strlist_free(&parts);
        free(dir);
    }
}

/* A .keras group: its path names the object, then the layer inside it. */
static void archive_group_rows(sub_objects *objs, const tlr_storage_group *g,
                               const char *only_object)
{
    tlr_strlist parts = TLR_STRLIST_INIT;
    split_parts(g->group, &parts);
    if (parts.n && (!only_object || strcmp(parts.items[0], only_object) == 0)) {
        char *inner = join_parts(&parts, 1);
        for (int k = 0; k < g->n_arrays; k++)
            add_array(objs, parts.items[0], inner, &g->arrays[k].shape);
        free(inner);
    }
    tlr_strlist_free(&parts);
}

/* The objects, each followed by its layers; an object's row counts its layers too. */
static void flatten(tlr_subclassed *s, sub_objects *objs)
{
    int n = 0;
    for (int i = 0; i < objs->n; i++)
        n += 1 + objs->v[i].n_layers;
    s->rows = tlr_xcalloc((size_t)n + 1, sizeof *s->rows);
    for (int i = 0; i < objs->n; i++) {
        sub_object *o = &objs->v[i];
        tlr_sub_row *head = &s->rows[s->n_rows++];
        *head = o->own;
        s->n_arrays += o->own.n_arrays;
        s->total_params += o->own.params;
        for (int k = 0; k < o->n_layers; k++) {
            s->rows[s->n_rows++] = o->layers[k];
            head->params += o->layers[k].params;
            s->n_arrays += o->layers[k].n_arrays;
            s->total_params += o->layers[k].params;
        }
        free(o->layers);
    }
    s->n_objects = objs->n;
    free(objs->v);
}

tlr_subclassed *tlr_subclassed_build(const tlr_storage *st, const char *class_name,
                                     const char *only_group)
{
    tlr_subclassed *s = tlr_xcalloc(1, sizeof *s);
    s->class_name = class_name;
    sub_objects objs = { 0 };
    const tlr_storage_weights *w = &st->weights;
    for (int i = 0; i < w->n_groups; i++) {
        const tlr_storage_group *g = &w->groups[i];
        if (w->layout == TLR_STORAGE_ARCHIVE)
            archive_group_rows(&objs, g, only_group);
        else if (!only_group || (g->name && strcmp(g->name, only_group) == 0))
            legacy_group_rows(&objs, g);
    }
    flatten(s, &objs);
    return s;
}

void tlr_subclassed_free(tlr_subclassed *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_rows; i++) {
        free(s->rows[i].path);
        free(s->rows[i].name);
        free(s->rows[i].shapes);
    }
    free(s->rows);
    free(s);
}

/* ---- text ---------------------------------------------------------------------------------- */

#define COL_NAME 32
#define COL_SHAPES 34
#define COL_PARAMS 12

/* The shapes column, cut at ", " so each line fits; returns the rest (or NULL). */
static const char *shapes_line(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n <= COL_SHAPES - 1) {
        snprintf(out, cap, "%s", s);
        return NULL;
    }
    size_t cut = 0;
    for (size_t i = 0; i + 1 < n && i < COL_SHAPES - 1; i++)
        if (s[i] == ',' && s[i + 1] == ' ')
            cut = i + 1;
    if (cut == 0)
        cut = n;
    snprintf(out, cap, "%.*s", (int)cut, s);
    return cut < n ? s + cut + (s[cut] == ' ') : NULL;
}

static void text_row(const tlr_sub_row *r, tlr_buf *out)
{
    char name[300], ps[48], line[512];
    snprintf(name, sizeof name, "%*s%s", 1 + 3 * r->depth, "", r->name);
    tlr_format_thousands(r->params, ps, sizeof ps);
    const char *rest = shapes_line(r->shapes, line, sizeof line);
    tlr_buf_printf(out, "%-*s%-*s%*s\n", COL_NAME, name, COL_SHAPES, line, COL_PARAMS, ps);
    while (rest) {
        rest = shapes_line(rest, line, sizeof line);
        tlr_buf_printf(out, "%-*s%s\n", COL_NAME, "", line);
    }
}

static void rule(tlr_buf *out, char c)
{
    for (int i = 0; i < COL_NAME + COL_SHAPES + COL_PARAMS; i++)
        tlr_buf_putc(out, c);
    tlr_buf_putc(out, '\n');
}

void tlr_subclassed_text(const tlr_subclassed *s, tlr_buf *out)
{
    tlr_buf_printf(out, "Model: \"%s\" (subclassed: the file holds no layer list)\n", s->class_name);
    rule(out, '_');
    tlr_buf_printf(out, "%-*s%-*s%*s\n", COL_NAME, " Object / layer (as stored)", COL_SHAPES,
                   "Weights (stored shapes)", COL_PARAMS, "Param #");
    rule(out, '=');
    for (int i = 0; i < s->n_rows; i++)
        text_row(&s->rows[i], out);
    rule(out, '=');
    char ps[48];
    tlr_format_thousands(s->total_params, ps, sizeof ps);
    tlr_buf_printf(out, "Total params: %s (the sum of the %d stored arrays)\n", ps, s->n_arrays);
    tlr_buf_printf(out, "Output shapes: unknown. '%s' is a subclassed model: its layers are built by\n"
                   "Python code that the file does not hold. Save the architecture as a\n"
                   "Functional model, or pass --config ARCH.json, to get shapes, feature maps\n"
                   "and predictions.\n", s->class_name);
    rule(out, '_');
}

tlr_json *tlr_subclassed_to_json(const tlr_subclassed *s)
{
    tlr_json *j = tlr_json_new_object();
    tlr_json_add_string(j, "class", s->class_name);
    tlr_json_add_bool(j, "subclassed", 1);
    tlr_json_add_number(j, "objects", s->n_objects);
    tlr_json_add_number(j, "arrays", s->n_arrays);
    tlr_json_add_number(j, "total_params", (double)s->total_params);
    tlr_json *rows = tlr_json_add_array(j, "rows");
    for (int i = 0; i < s->n_rows; i++) {
        const tlr_sub_row *r = &s->rows[i];
        tlr_json *o = tlr_json_push_object(rows);
        tlr_json_add_string(o, "path", r->path);
        tlr_json_add_string(o, "name", r->name);
        tlr_json_add_number(o, "depth", r->depth);
        tlr_json_add_string(o, "shapes", r->shapes);
        tlr_json_add_number(o, "arrays", r->n_arrays);
        tlr_json_add_number(o, "params", (double)r->params);
    }
    return j;
}
