#include "util/parse.h"
#include <string.h>

int parse_bool(const char *text) {
    static const char *const ON[] = {"on", "true", "yes", "1"}, *const OFF[] = {"off", "false", "no", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(text, ON[i])) return 1;
        if (!strcmp(text, OFF[i])) return 0;
    }
    return -1;
}
