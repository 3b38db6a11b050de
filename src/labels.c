/* labels.c - labels files and top-k selection. */
#include "labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
