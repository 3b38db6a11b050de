/* labels.c - labels files and top-k selection. */
#include "io/labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

#define MAX_LABELS 1000000

tlr_status tlr_labels_read(const char *path, tlr_strlist *out, tlr_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return tlr_err_set(err, TLR_E_IO, "%s: cannot open labels file", path);
    char line[4096];
    while (fgets(line, sizeof line, fp)) {
        if (out->n >= MAX_LABELS) {
            fclose(fp);
            return tlr_err_set(err, TLR_E_LIMIT, "%s: more than %d labels", path, MAX_LABELS);
        }
        int c = strchr(line, '\n') ? '\n' : getc(fp); /* the end of a line that filled 'line' */
        if (c != '\n' && c != EOF) {
            fclose(fp);
            return tlr_err_set(err, TLR_E_FORMAT, "%s: line %zu is longer than %zu bytes: not a "
                               "labels file", path, out->n + 1, sizeof line - 1);
        }
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        if (out->n == 0 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
            (unsigned char)s[2] == 0xBF)
            s += 3;
        tlr_strlist_push(out, s);
    }
    fclose(fp);
    while (out->n && !out->items[out->n - 1][0])
        free(out->items[--out->n]);
    int numbered = out->n > 0;
    for (size_t i = 0; i < out->n && numbered; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "%zu ", i);
        numbered = strncmp(out->items[i], idx, strlen(idx)) == 0;
    }
    if (numbered)
        for (size_t i = 0; i < out->n; i++) {
            char *sp = strchr(out->items[i], ' ');
            memmove(out->items[i], sp + 1, strlen(sp + 1) + 1);
        }
    return TLR_OK;
}

int tlr_top_k(const float *v, int64_t n, int k, int *idx)
{
    int m = 0;
    for (int64_t i = 0; i < n; i++) {
        /* insertion into the sorted prefix; only the best k are kept */
        int at = m < k ? m++ : k;
        if (at == k && (k == 0 || !(v[i] > v[idx[k - 1]])))
            continue;
        if (at == k)
            at = k - 1;
        while (at > 0 && v[i] > v[idx[at - 1]]) {
            idx[at] = idx[at - 1];
            at--;
        }
        idx[at] = (int)i;
    }
    return m;
}

tlr_status tlr_labels_check(const tlr_strlist *labels, int64_t n, const char *path,
                            tlr_err *err)
{
    if (labels->n == 0)
        return TLR_OK;
    if (n == 1 ? labels->n <= 2 : (int64_t)labels->n == n)
        return TLR_OK;
    return tlr_err_set(err, TLR_E_SHAPE, "%s: %zu labels for a model output of %lld value%s%s",
                       path, labels->n, (long long)n, n == 1 ? "" : "s",
                       n == 1 ? " (a sigmoid output takes 2 labels: class 0, class 1)" : "");
}

int tlr_labels_rank(const float *y, int64_t n, const tlr_strlist *labels, int k, int binary,
                    tlr_ranked *out)
{
    if (n == 1 && binary && labels->n != 1) {
        int one_first = y[0] >= 0.5f;
        for (int r = 0; r < 2; r++) {
            int c = r == 0 ? one_first : !one_first;
            out[r] = (tlr_ranked){ c, labels->n == 2 ? labels->items[c] : NULL,
                                   c ? y[0] : 1.0f - y[0] };
        }
        return k < 2 ? k : 2;
    }
    if (n == 1) {
        out[0] = (tlr_ranked){ 0, labels->n ? labels->items[0] : NULL, y[0] };
        return k < 1 ? k : 1;
    }
    int *idx = tlr_xcalloc((size_t)k + 1, sizeof *idx);
    int m = tlr_top_k(y, n, k, idx);
    for (int i = 0; i < m; i++)
        out[i] = (tlr_ranked){ idx[i], (size_t)idx[i] < labels->n ? labels->items[idx[i]] : NULL,
                               y[idx[i]] };
    free(idx);
    return m;
}

tlr_status tlr_labels_load(const char *path, int64_t n, tlr_strlist *out, tlr_err *err)
{
    tlr_status st = tlr_labels_read(path, out, err);
    if (!st && n > 0)
        st = tlr_labels_check(out, n, path, err);
    if (st)
        tlr_strlist_free(out);
    return st;
}
