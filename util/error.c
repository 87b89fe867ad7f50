#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_message[1024];

int error_set(int code, const char *fmt, ...) {
    /* format into a scratch buffer first: callers often pass error_message() as an
     * argument to add context to the message already recorded */
    char message[sizeof last_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(last_message, message, sizeof message);
    return code;
}

const char *error_message(void) { return last_message[0] ? last_message : "unknown error"; }
void error_clear(void) { last_message[0] = 0; }

void die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "meki: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(code);
}
