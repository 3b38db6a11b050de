/* main.c - the tlreport command: parses options, runs the requested stage, prints the error
 * (one line, "tlreport: <what>") and maps it to the exit status: 0 ok, 1 error, 2 usage,
 * 3 a --check expectation not met.
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
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/cli.h"
#include "app/pipeline.h"
#include "base/bigmem.h"
#include "base/stop.h"
#include "base/version.h"
#include "io/h5probe.h"

static int run(tlr_options *o)
{
    tlr_err err = { 0 };
    tlr_status st = tlr_run(o, stdout, stderr, &err);
    fflush(stdout);
    if (st != TLR_OK) {
        fprintf(stderr, "tlreport: %s\n", err.msg);
        return st == TLR_E_USAGE ? 2 : st == TLR_E_CHECK ? 3 : 1;
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
    if (is_forwarded(sig) || sig == SIGPIPE) {
        /* stopped on request, or its reader went away (tlreport ... | head): end the same
         * way, as a shell expects, without blaming the file */
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

/* The worker's stderr passes through the parent.  tlreport's own lines ("tlreport: ...") go
 * out at once; anything else (a library's or the C library's complaint, a --profile table)
 * is held, in order, until the worker ends: printed if it exited, dropped if a signal ended
 * it, so a crash still ends with exactly one line, the parent's. */
typedef struct {
    char *held;
    size_t n_held, cap_held;
    size_t dropped;          /* held bytes given up (over the cap, or no memory) */
    char line[4096];
    size_t n_line;
    int direct;              /* inside a long "tlreport: " line: the rest goes out too */
} relay;

#define RELAY_MAX_HELD (1u << 20) /* held text beyond this is dropped, with a note */

static void relay_hold(relay *r, const char *s, size_t n)
{
    if (r->dropped || r->n_held + n > RELAY_MAX_HELD) {
        r->dropped += n;
        return;
    }
    if (r->n_held + n > r->cap_held) {
        size_t cap = r->cap_held ? r->cap_held * 2 : 4096;
        while (cap < r->n_held + n)
            cap *= 2;
        char *h = realloc(r->held, cap);
        if (!h) {
            r->dropped += n;
            return;
        }
        r->held = h;
        r->cap_held = cap;
    }
    memcpy(r->held + r->n_held, s, n);
    r->n_held += n;
}

/* One complete line, or a full buffer of a longer one, from the worker. */
static void relay_line(relay *r, const char *s, size_t n)
{
    int ours = r->direct || (r->n_held == 0 && !r->dropped && n >= 10 &&
                             memcmp(s, "tlreport: ", 10) == 0);
    if (ours) {
        fwrite(s, 1, n, stderr);
        fflush(stderr);
    } else {
        relay_hold(r, s, n);
    }
    r->direct = ours && s[n - 1] != '\n' && s[n - 1] != '\r';
}

static void relay_bytes(relay *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r->line[r->n_line++] = s[i];
        /* a '\r' ends a progress line that the next one overwrites */
        if (s[i] == '\n' || s[i] == '\r' || r->n_line == sizeof r->line) {
            relay_line(r, r->line, r->n_line);
            r->n_line = 0;
        }
    }
}

/* Copies the worker's stderr from 'fd' until it closes it. */
static void relay_run(relay *r, int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got > 0)
            relay_bytes(r, buf, (size_t)got);
        else if (got == 0 || errno != EINTR)
            break;
    }
    if (r->n_line)
        relay_line(r, r->line, r->n_line);
    r->n_line = 0;
}

/* The worker has ended: what it held goes out unless 'crashed'. */
static void relay_end(relay *r, int crashed)
{
    if (!crashed && r->n_held)
        fwrite(r->held, 1, r->n_held, stderr);
    if (!crashed && r->dropped)
        fprintf(stderr, "tlreport: (%zu more bytes of library messages left out)\n", r->dropped);
    free(r->held);
    r->held = NULL;
    r->n_held = r->cap_held = 0;
}

/* The worker's answer to a stop request: end now by the same signal, unless it is swapping
 * in the site, which then finishes or undoes itself first (base/stop.h). */
static void worker_stop(int sig)
{
    if (tlr_stop_deferring()) {
        tlr_stop_request(sig);
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs worker_stop for the stop signals, leaving ignored ones ignored. */
static void set_worker_stop(void)
{
    for (int i = 0; i < N_FORWARDED; i++) {
        struct sigaction sa, cur;
        sigaction(forwarded_signals[i], NULL, &cur);
        if (cur.sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = worker_stop;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(forwarded_signals[i], &sa, NULL);
    }
}

/* run() with stop requests honoured; a request recorded during the site swap ends the
 * process by its signal once the swap has been undone. */
static int run_stoppable(tlr_options *o)
{
    set_worker_stop();
    int rc = run(o);
    int sig = tlr_stop_requested();
    if (sig) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    return rc;
}

/* The worker must not outlive the command: when the parent dies, even by SIGKILL (a CI
 * runner's timeout), the kernel sends the worker SIGTERM.  A parent already gone before
 * the request took effect is caught by comparing getppid(). */
static void die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        raise(SIGTERM);
}

/* Runs 'run' in a child and reports a crash of it as an input error. */
static int run_guarded(tlr_options *o)
{
    const char *nf = getenv("TLR_NO_FORK");
    if (nf && strcmp(nf, "0") != 0)
        return run_stoppable(o);
    fflush(stdout);
    fflush(stderr);
    sigset_t block, old;
    sigemptyset(&block);
    for (int i = 0; i < N_FORWARDED; i++)
        sigaddset(&block, forwarded_signals[i]);
    /* blocked across the fork, so a request in between is forwarded, not lost */
    sigprocmask(SIG_BLOCK, &block, &old);
    set_forwarding(1);
    int err_pipe[2];
    int piped = pipe(err_pipe) == 0;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        set_worker_stop();
        die_with_parent(parent);
        tlr_h5probe_contained(); /* a crash here is reported by the parent */
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (piped) {
            close(err_pipe[0]);
            dup2(err_pipe[1], STDERR_FILENO);
            close(err_pipe[1]);
        }
        exit(run_stoppable(o)); /* exit, not _exit: LeakSanitizer checks at exit */
    }
    if (pid < 0) {
        set_forwarding(0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (piped) {
            close(err_pipe[0]);
            close(err_pipe[1]);
        }
        return run_stoppable(o);
    }
    child_pid = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    relay rel = { 0 };
    if (piped) {
        close(err_pipe[1]);
        relay_run(&rel, err_pipe[0]);
        close(err_pipe[0]);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            relay_end(&rel, 0);
            fprintf(stderr, "tlreport: lost the worker process: %s\n", strerror(errno));
            return 1;
        }
    }
    child_pid = 0;
    set_forwarding(0);
    relay_end(&rel, !WIFEXITED(status));
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
    tlr_big_heap((size_t)8 << 20);
    int rc = run_guarded(&o);
    tlr_cli_free(&o);
    return rc;
}
