/* stop.h - a request to stop (SIGTERM, SIGHUP, SIGINT, or the parent's death) that the
 * program must honour without leaving half a report behind.
 *
 * The app's signal handler either ends the process at once or, while a section of work that
 * must not be cut (writing and swapping in the site) is under way, records the request; that
 * section then checks tlr_stop_requested() at its safe points, undoes what it did and returns
 * an error, and the app ends the process by the recorded signal.  Everything here is
 * async-signal-safe. */
#ifndef TLR_STOP_H
#define TLR_STOP_H

/* Entering (1) or leaving (0) a section that must finish or undo itself. */
void tlr_stop_defer(int on);
/* 1 inside such a section. */
int tlr_stop_deferring(void);
/* Records a stop request by signal 'sig' (from a signal handler). */
void tlr_stop_request(int sig);
/* The signal of a recorded request, or 0. */
int tlr_stop_requested(void);

#endif
