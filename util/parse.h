/* Small parsers shared by the configuration readers. */
#ifndef UTIL_PARSE_H
#define UTIL_PARSE_H

/* on/true/yes/1 -> 1, off/false/no/0 -> 0, anything else -> -1 (exact, lower case). */
int parse_bool(const char *text);
#endif
