/* main.c - the tlreport command: parses options, runs the requested stage, prints the error
 * (one line, "tlreport: <what>") and maps it to the exit status: 0 ok, 1 error, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"

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
    tlr_status st = tlr_run(&o, stdout, stderr, &err);
    tlr_cli_free(&o);
    if (st != TLR_OK) {
        fflush(stdout);
        fprintf(stderr, "tlreport: %s\n", err.msg);
        return st == TLR_E_USAGE ? 2 : 1;
    }
    return 0;
}
