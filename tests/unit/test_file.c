/* test_file.c - the bounded whole-file read and mkdir -p (base/file.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"
#include "harness.h"

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static void whole_file_read(void)
{
    char path[512], dir[512], fifo[512];
    tlr_err err = { 0 };
    size_t len = 0;
    snprintf(path, sizeof path, "%s/file_read.txt", tlr_t_tmpdir());
    put(path, "hello");
    char *s = tlr_file_read(path, 5, &len, &err);
    OK(s != NULL, "a file of exactly the limit is read");
    INT_EQ(len, 5, "its length");
    STR_EQ(s ? s : "", "hello", "its bytes, NUL-terminated");
    free(s);

    OK(tlr_file_read(path, 4, &len, &err) == NULL, "one byte over the limit");
    INT_EQ(err.code, TLR_E_LIMIT, "over the limit is a limit error");
    STR_CONTAINS(err.msg, "file_read.txt: file of 5 bytes exceeds the limit of 4 bytes",
                 "the size and the limit");

    snprintf(path, sizeof path, "%s/no/such/file", tlr_t_tmpdir());
    OK(tlr_file_read(path, 100, &len, &err) == NULL, "missing file");
    INT_EQ(err.code, TLR_E_IO, "missing file is an I/O error");
    STR_CONTAINS(err.msg, "/no/such/file: cannot open: No such file or directory",
                 "path and reason");

    snprintf(dir, sizeof dir, "%s", tlr_t_tmpdir());
    OK(tlr_file_read(dir, 100, &len, &err) == NULL, "a directory");
    STR_CONTAINS(err.msg, ": not a regular file", "a directory is not a regular file");

    /* a FIFO nobody writes to: refused at once instead of waiting for a writer */
    snprintf(fifo, sizeof fifo, "%s/file_read.fifo", tlr_t_tmpdir());
    remove(fifo);
    OK(mkfifo(fifo, 0600) == 0, "mkfifo");
    OK(tlr_file_read(fifo, 100, &len, &err) == NULL, "a FIFO");
    STR_CONTAINS(err.msg, "file_read.fifo: not a regular file", "a FIFO is not a regular file");
    remove(fifo);
}

static void make_dirs(void)
{
    char path[512], file[512];
    tlr_err err = { 0 };
    struct stat st;
    snprintf(path, sizeof path, "%s/mk/a/b", tlr_t_tmpdir());
    OK(tlr_file_mkdirs(path, &err) == TLR_OK, "mkdir -p");
    OK(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "the last folder exists");
    OK(tlr_file_mkdirs(path, &err) == TLR_OK, "existing folders are fine");

    snprintf(file, sizeof file, "%s/mk/c/d/out.txt", tlr_t_tmpdir());
    OK(tlr_file_mkdirs_for(file, &err) == TLR_OK, "the folders for a file");
    snprintf(path, sizeof path, "%s/mk/c/d", tlr_t_tmpdir());
    OK(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "its folder exists");
    OK(stat(file, &st) != 0, "the file itself is not made");

    put(file, "x");
    snprintf(path, sizeof path, "%s/mk/c/d/out.txt/e", tlr_t_tmpdir());
    OK(tlr_file_mkdirs(path, &err) == TLR_E_IO, "a file in the way");
    STR_CONTAINS(err.msg, "out.txt: cannot create directory: Not a directory", "names it");
}

void test_file(void)
{
    whole_file_read();
    make_dirs();
}
