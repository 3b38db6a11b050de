/* main.c - the tlreport command: parses options, runs the requested stage, prints the error
 * (one line, "tlreport: <what>") and maps it to the exit status: 0 ok, 1 error, 2 usage.
 *
 * The work runs in a child process.  tlreport's own code validates everything it reads, but
 * libhdf5 trusts lengths stored in a file, and a crafted file can crash it; the parent then
 * still answers with one clear line and exit status 1 instead of dying with the child.
 * TLR_NO_FORK=1 runs everything in one process (debuggers, profilers). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"

static int run(tlr_options *o)
{
    tlr_err err = { 0 };
    tlr_status st = tlr_run(o, stdout, stderr, &err);
    fflush(stdout);
    if (st != TLR_OK) {
        fprintf(stderr, "tlreport: %s\n", err.msg);
        return st == TLR_E_USAGE ? 2 : 1;
    }
    return 0;
}

/* Runs 'run' in a child and reports a crash of it as an input error. */
static int run_guarded(tlr_options *o)
{
    const char *nf = getenv("TLR_NO_FORK");
    if (nf && strcmp(nf, "0") != 0)
        return run(o);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return run(o);
    if (pid == 0)
        exit(run(o)); /* exit, not _exit: LeakSanitizer checks at exit */
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    fprintf(stderr, "tlreport: %s: reading this file crashed a library (signal %d, %s): the file "
            "is damaged or crafted\n", o->model, sig, strsignal(sig));
    return 1;
}

int main(int argc, char **argv)
{
    tlr_options o;
    tlr_err err = { 0 };
    if (tlr_cli_parse(argc, argv, &o, &err) != TLR_OK) {
        fprintf(stderr, "tlreport: %s\n", err.msg);
        tlr_cli_free(&o);
        return 2;
    }
    if (o.cmd == TLR_CMD_HELP) {
        fputs(tlr_cli_usage(), stdout);
        tlr_cli_free(&o);
        return 0;
    }
    if (o.cmd == TLR_CMD_VERSION) {
        printf("tlreport %s\n", TLR_VERSION);
        tlr_cli_free(&o);
        return 0;
    }
    o.progress = !o.quiet && isatty(fileno(stderr));
    int rc = run_guarded(&o);
    tlr_cli_free(&o);
    return rc;
}
