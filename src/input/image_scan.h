/* image_scan.h - expand command-line image arguments (files and folders) into a list of
 * image files. */
#ifndef TLR_IMAGE_SCAN_H
#define TLR_IMAGE_SCAN_H

#include "base/err.h"

/* For each of the n paths, in argument order:
 *   - a file is taken as given, but must start with PNG or JPEG magic bytes (else an error);
 *   - a folder is walked recursively and its PNG/JPEG files (by magic bytes, whatever their
 *     extension) are added sorted by path with strcmp (bytewise). Names starting with '.'
 *     are skipped silently; other files that are not images, unreadable entries and
 *     symbolic links to folders are skipped with one message each in '*warnings' (sorted).
 * On success '*files' (and '*warnings' when not NULL) are new arrays of new strings; free
 * each with tlr_image_scan_free(). A folder without images is not an error (nfiles may be 0).
 * On error (a missing path, a named file that is not an image) nothing is returned. */
tlr_status tlr_image_scan(const char *const *paths, int n, char ***files, int *nfiles,
                          char ***warnings, int *nwarnings, tlr_err *err);

/* Frees a list from tlr_image_scan (NULL is fine). */
void tlr_image_scan_free(char **list, int n);

#endif
