/* weights_archive.c - binding the weights of a .keras archive's model.weights.h5: the layer
 * tree Keras 3 writes (layers/<snake_class>[_k]/vars/<i>), tf.keras 2.13's
 * _layer_checkpoint_dependencies, and Windows writers' backslash separators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strlist.h"
#include "base/xalloc.h"
#include "keras/weights_parts.h"

/* Joins archive path parts with the separator the writer used ('/' or, on Windows, '\\'). */
static char *arc_join(const char *a, const char *b, char sep)
{
    return a[0] ? tlr_xasprintf("%s%c%s", a, sep, b) : tlr_xstrdup(b);
}

/* The vars of one saveable at 'base' (e.g. "layers/conv2d"): datasets vars/0, vars/1, ... */
static tlr_status read_vars(tlr_h5 *h, const char *base, stored_list *out, tlr_err *err)
{
    char *vars = tlr_xasprintf("%s/vars", base);
    tlr_status st = TLR_OK;
    for (int i = 0; !st; i++) {
        char *p = tlr_xasprintf("%s/%d", vars, i);
        char *nm = tlr_xasprintf("vars/%d", i);
        if (tlr_h5_is_dataset(h, p))
            st = tlr_wp_stored_add(out, h, nm, p, err);
        else
            i = -2;
        free(p);
        free(nm);
        if (i == -2)
            break;
    }
    free(vars);
    return st;
}

/* Finds the child group of 'dir' holding layer 'l' (index 'nth' among layers of its class). */
static char *arc_child(tlr_h5 *h, const char *dir, const tlr_layer *l, int nth, char sep)
{
    /* Keras >= 3.6 writes the layer name on the vars group: use it when present. */
    tlr_strlist kids = TLR_STRLIST_INIT;
    char snake[256];
    tlr_snake_case(l->class_name, snake, sizeof snake);
    char *found = NULL;
    const char *gdir = dir[0] ? dir : "/";
    if (sep == '/' && tlr_h5_children(h, gdir, &kids, NULL) == TLR_OK) {
        for (size_t i = 0; i < kids.n && !found; i++) {
            char *p = arc_join(dir, kids.items[i], '/');
            char *v = tlr_xasprintf("%s/vars", p);
            char *nm = tlr_h5_has_attr(h, v, "name") ? tlr_h5_attr_string(h, v, "name", NULL) : NULL;
            if (nm && strcmp(nm, l->name) == 0)
                found = tlr_xstrdup(p);
            free(nm);
            free(v);
            free(p);
        }
    }
    tlr_strlist_free(&kids);
    if (found)
        return found;
    /* Otherwise the nth key of this class in suffix order ("conv2d", "conv2d_1", ...). */
    tlr_strlist all = TLR_STRLIST_INIT;
    const char *list_dir = sep == '/' ? gdir : "/";
    if (tlr_h5_children(h, list_dir, &all, NULL) != TLR_OK)
        return NULL;
    size_t plen = sep == '/' ? 0 : strlen(dir) + 1;
    long best_suffix[4096];
    char *cand[4096];
    int nc = 0;
    size_t sl = strlen(snake);
    for (size_t i = 0; i < all.n && nc < 4096; i++) {
        const char *k = all.items[i];
        if (plen) {
            if (strncmp(k, dir, plen - 1) != 0 || k[plen - 1] != sep || strchr(k + plen, sep))
                continue;
            k += plen;
        }
        long suffix = -1;
        if (strcmp(k, snake) == 0)
            suffix = 0;
        else if (strncmp(k, snake, sl) == 0 && k[sl] == '_' && k[sl + 1] &&
                 strspn(k + sl + 1, "0123456789") == strlen(k + sl + 1))
            suffix = strtol(k + sl + 1, NULL, 10);
        if (suffix < 0)
            continue;
        int at = nc++;
        while (at > 0 && best_suffix[at - 1] > suffix) {
            best_suffix[at] = best_suffix[at - 1];
            cand[at] = cand[at - 1];
            at--;
        }
        best_suffix[at] = suffix;
        cand[at] = all.items[i];
    }
    if (nth < nc)
        found = sep == '/' ? arc_join(dir, cand[nth], '/') : tlr_xstrdup(cand[nth]);
    tlr_strlist_free(&all);
    return found;
}

static tlr_status bind_archive_model(tlr_model *m, tlr_h5 *h, const char *dir, char sep,
                                     const char *prefix, const tlr_weights_ctx *ctx, tlr_err *err);

/* Binds layer 'l' (path 'lp' for messages) to what the saveable at 'base' stores. */
static tlr_status bind_archive_layer(tlr_layer *l, tlr_h5 *h, const char *base, char sep,
                                     const char *lp, const tlr_weights_ctx *ctx, tlr_err *err)
{
    if (l->op == TLR_OP_MODEL) {
        char *sub = arc_join(base, "layers", sep);
        tlr_status st = bind_archive_model(l->inner, h, sub, sep, lp, ctx, err);
        free(sub);
        return st;
    }
    stored_list S = { 0 };
    tlr_status st = read_vars(h, base, &S, err);
    /* Recurrent layers keep their variables on a 'cell' child. */
    if (!st && S.n == 0 && (l->op == TLR_OP_RNN || l->op == TLR_OP_BIDIRECTIONAL)) {
        const char *parts[] = { "cell", "forward_layer", "backward_layer" };
        for (int p = 0; p < 3 && !st; p++) {
            char *c = arc_join(base, parts[p], sep);
            char *cc = p ? arc_join(c, "cell", sep) : tlr_xstrdup(c);
            st = read_vars(h, cc, &S, err);
            free(c);
            free(cc);
        }
    }
    if (!st) {
        stored_w **ptrs = tlr_xcalloc((size_t)S.n + 1, sizeof *ptrs);
        for (int i = 0; i < S.n; i++)
            ptrs[i] = &S.w[i];
        st = tlr_wp_bind_layer(l, ptrs, S.n, lp, ctx, err);
        free(ptrs);
    }
    tlr_wp_stored_free(&S);
    return st;
}

static tlr_status bind_archive_model(tlr_model *m, tlr_h5 *h, const char *dir, char sep,
                                     const char *prefix, const tlr_weights_ctx *ctx, tlr_err *err)
{
    int n;
    int *vis = tlr_model_visible_alloc(m, &n);
    tlr_status st = TLR_OK;
    for (int k = 0; k < n && !st; k++) {
        tlr_layer *l = &m->layers[vis[k]];
        if (!tlr_wp_has_weights(l))
            continue;
        /* nth layer of the same class so far */
        int nth = 0;
        for (int j = 0; j < k; j++)
            if (strcmp(m->layers[vis[j]].class_name, l->class_name) == 0)
                nth++;
        char *lp = prefix[0] ? tlr_xasprintf("%s/%s", prefix, l->name) : tlr_xstrdup(l->name);
        char *base = arc_child(h, dir, l, nth, sep);
        if (!base)
            st = tlr_err_set(err, TLR_E_FORMAT, "%s: no weights stored for layer '%s'", ctx->what, lp);
        else
            st = bind_archive_layer(l, h, base, sep, lp, ctx, err);
        free(base);
        free(lp);
    }
    free(vis);
    return st;
}

/* A subclassed model's store keeps each tracked attribute at the root under its attribute
 * name ("encoder/layers/conv2d/vars/0"); an architecture given with --config binds to it
 * when its top-level layers carry those names. */
static tlr_status bind_by_attribute(tlr_model *m, tlr_h5 *h, const tlr_weights_ctx *ctx,
                                    tlr_err *err)
{
    int n;
    int *vis = tlr_model_visible_alloc(m, &n);
    tlr_status st = TLR_OK;
    for (int k = 0; k < n && !st; k++) {
        tlr_layer *l = &m->layers[vis[k]];
        if (!tlr_wp_has_weights(l))
            continue;
        if (!tlr_h5_is_group(h, l->name))
            st = tlr_err_set(err, TLR_E_FORMAT, "%s: model.weights.h5 has no 'layers' group "
                             "and no group named after layer '%s'", ctx->what, l->name);
        else
            st = bind_archive_layer(l, h, l->name, '/', l->name, ctx, err);
    }
    free(vis);
    return st;
}

tlr_status tlr_weights_bind_archive(tlr_model *m, tlr_h5 *h, const tlr_weights_ctx *ctx,
                                    tlr_err *err)
{
    /* Keras 3: "layers/..."; tf.keras 2.13/2.14: "_layer_checkpoint_dependencies/..."; a
     * Windows writer joined with backslashes, giving single root groups "layers\\conv2d". */
    const char *roots[] = { "layers", "_layer_checkpoint_dependencies" };
    tlr_strlist top = TLR_STRLIST_INIT;
    tlr_status st = tlr_h5_children(h, "/", &top, err);
    if (st)
        return st;
    const char *root = NULL;
    char sep = '/';
    for (int r = 0; r < 2 && !root; r++) {
        size_t len = strlen(roots[r]);
        for (size_t i = 0; i < top.n && !root; i++) {
            if (strcmp(top.items[i], roots[r]) == 0)
                root = roots[r];
            else if (strncmp(top.items[i], roots[r], len) == 0 && top.items[i][len] == '\\') {
                root = roots[r];
                sep = '\\';
            }
        }
    }
    tlr_strlist_free(&top);
    if (!root) {
        /* A model with no weights at all stores no layer groups. */
        int any = 0;
        for (int i = 0; i < m->n_layers; i++)
            any |= tlr_wp_has_weights(&m->layers[i]);
        if (!any) {
            tlr_wp_count_params(m, 1);
            return TLR_OK;
        }
        st = bind_by_attribute(m, h, ctx, err);
    } else {
        st = bind_archive_model(m, h, root, sep, "", ctx, err);
    }
    if (!st)
        st = tlr_wp_check_complete(m, "", ctx, err);
    if (!st)
        tlr_wp_count_params(m, 1);
    return st;
}

