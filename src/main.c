/* main.c - the tlreport command: parses options, runs the requested stage, prints the error
 * (one line, "tlreport: <what>") and maps it to the exit status: 0 ok, 1 error, 2 usage.
 *
 * The work runs in a child process.  tlreport's own code validates everything it reads, but
 * libhdf5 trusts lengths stored in a file, and a crafted file can crash it; the parent then
 * still answers with one clear line and exit status 1 instead of dying with the child.
 * TLR_NO_FORK=1 runs everything in one process (debuggers, profilers). */
#include <errno.h>
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

/* The child doing the work, for the parent's signal handler (0 before the fork). */
static volatile sig_atomic_t child_pid;

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define N_FORWARDED (int)(sizeof forwarded_signals / sizeof forwarded_signals[0])

/* A stop request to the parent (kill, a CI timeout, Ctrl-C) must stop the child too, or it
 * would run on and write the output alone. */
static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

/* Installs (on) or removes the forwarding handler.  A signal ignored when tlreport started
 * (nohup, a background job of a script) stays ignored, in both processes. */
static void set_forwarding(int on)
{
    for (int i = 0; i < N_FORWARDED; i++) {
        struct sigaction sa, cur;
        sigaction(forwarded_signals[i], NULL, &cur);
        if (cur.sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on ? forward_signal : SIG_DFL;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(forwarded_signals[i], &sa, NULL);
    }
}

static int is_forwarded(int sig)
{
    for (int i = 0; i < N_FORWARDED; i++)
        if (forwarded_signals[i] == sig)
            return 1;
    return 0;
}

/* The exit status for a child that 'sig' ended, with its one-line reason. */
static int report_child_signal(const tlr_options *o, int sig)
{
    if (is_forwarded(sig)) {
        /* stopped on request: end the same way, as a shell expects, without blaming the file */
        set_forwarding(0);
        raise(sig);
        return 128 + sig;
    }
    if (sig == SIGKILL)
        fprintf(stderr, "tlreport: %s: the work was killed (signal %d, %s), most likely by the "
                "system for using too much memory; --max-memory lowers tlreport's budget\n",
                o->model, sig, strsignal(sig));
    else
        fprintf(stderr, "tlreport: %s: reading this file crashed a library (signal %d, %s): the "
                "file is damaged or crafted\n", o->model, sig, strsignal(sig));
    return 1;
}

/* Runs 'run' in a child and reports a crash of it as an input error. */
static int run_guarded(tlr_options *o)
{
    const char *nf = getenv("TLR_NO_FORK");
    if (nf && strcmp(nf, "0") != 0)
        return run(o);
    fflush(stdout);
    fflush(stderr);
    sigset_t block, old;
    sigemptyset(&block);
    for (int i = 0; i < N_FORWARDED; i++)
        sigaddset(&block, forwarded_signals[i]);
    /* blocked across the fork, so a request in between is forwarded, not lost */
    sigprocmask(SIG_BLOCK, &block, &old);
    set_forwarding(1);
    pid_t pid = fork();
    if (pid == 0) {
        set_forwarding(0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        exit(run(o)); /* exit, not _exit: LeakSanitizer checks at exit */
    }
    if (pid < 0) {
        set_forwarding(0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return run(o);
    }
    child_pid = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "tlreport: lost the worker process: %s\n", strerror(errno));
            return 1;
        }
    }
    child_pid = 0;
    set_forwarding(0);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return report_child_signal(o, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
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
