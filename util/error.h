/* Error reporting shared by every command.
 * Exit codes follow DESIGN.md: 0 success, 2 bad usage or bad input, 1 other failure.
 * Library code never exits: it returns an error code and fills a message that names
 * the file, line or flag; only bench/ turns that into an exit status. */
#ifndef UTIL_ERROR_H
#define UTIL_ERROR_H
#include <stdarg.h>

enum { OK = 0, ERR_FAILURE = 1, ERR_INPUT = 2 };

/* The last error message of this thread; set by error_set, printed by bench/. */
int error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *error_message(void);
void error_clear(void);

/* Print "meki: <message>" to stderr and exit with the code. For bench/ only. */
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
#endif
