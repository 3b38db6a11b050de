/* site.h - writes a set of files as one directory, all or nothing.
 *
 * The files go into a fresh temporary directory beside the target (same parent, named
 * ".<base>.tmp-XXXXXX"), which is then renamed into place, so a run that fails half-way leaves
 * the previous report (or nothing) behind, never a mix.  An existing directory is replaced
 * only when it is empty, when tlreport made it (it holds the marker file TLR_SITE_MARKER), or
 * when 'force' is set.  Nothing is written outside the target: every file name must pass
 * tlr_site_name_is_safe().  Same inputs give byte-identical files (no timestamps). */
#ifndef TLR_SITE_H
#define TLR_SITE_H

#include <stddef.h>

#include "base/err.h"

/* The marker that says "tlreport made this directory; it may replace it". */
#define TLR_SITE_MARKER ".tlreport"

/* One file of the site: a relative name such as "img/kernels.png" and its bytes (borrowed). */
typedef struct {
    const char *name;
    const void *data;
    size_t len;
} tlr_site_file;

/* Writes 'files' (plus the marker) as the whole content of 'out_dir', creating missing parent
 * directories.  Returns TLR_OK, TLR_E_USAGE for an unsafe or repeated file name or an output
 * directory it may not replace, or TLR_E_IO; on any error 'out_dir' is left as it was. */
tlr_status tlr_site_write(const char *out_dir, const tlr_site_file *files, int n_files,
                          int force, tlr_err *err);

/* 1 when 'name' is a relative path of at most 4 components, each 1..255 bytes, none starting
 * with '.', and no control character (bytes < 0x20, 0x7f), backslash or empty component. */
int tlr_site_name_is_safe(const char *name);

/* Turns any string (e.g. the base name of a sample image) into one safe file-name component:
 * bytes other than ASCII letters, digits, '.', '-' and '_' become '_', a leading '.' becomes
 * '_', the result is cut to 100 bytes and is never empty.  Free with free(). */
char *tlr_site_sanitize_name(const char *s);

#endif
