/* strlist.c - list of owned strings. */
#include "base/strlist.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void tlr_strlist_push_owned(tlr_strlist *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->items = tlr_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n++] = s;
}

void tlr_strlist_push(tlr_strlist *l, const char *s)
{
    tlr_strlist_push_owned(l, tlr_xstrdup(s));
}

long tlr_strlist_find(const tlr_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return (long)i;
    return -1;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tlr_strlist_sort(tlr_strlist *l)
{
    if (l->n > 1)
        qsort(l->items, l->n, sizeof *l->items, cmp);
}

void tlr_strlist_free(tlr_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}
