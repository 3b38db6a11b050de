/* strlist.h - a growable list of owned strings. */
#ifndef TLR_STRLIST_H
#define TLR_STRLIST_H

#include <stddef.h>

typedef struct {
    char **items;
    size_t n, cap;
} tlr_strlist;

#define TLR_STRLIST_INIT { NULL, 0, 0 }

/* Appends a copy of 's'. */
void tlr_strlist_push(tlr_strlist *l, const char *s);
/* Appends 's' itself (which must come from malloc); the list takes ownership. */
void tlr_strlist_push_owned(tlr_strlist *l, char *s);
/* Index of 's', or -1. */
long tlr_strlist_find(const tlr_strlist *l, const char *s);
/* Sorts bytewise. */
void tlr_strlist_sort(tlr_strlist *l);
void tlr_strlist_free(tlr_strlist *l);

#endif
