/* stop.c - the stop request: two flags a signal handler may touch. */
#include "base/stop.h"

#include <signal.h>

static volatile sig_atomic_t deferring, requested;

void tlr_stop_defer(int on)
{
    deferring = on != 0;
}

int tlr_stop_deferring(void)
{
    return deferring;
}

void tlr_stop_request(int sig)
{
    requested = sig;
}

int tlr_stop_requested(void)
{
    return requested;
}
