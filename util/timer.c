#include "util/timer.h"
#include <sys/resource.h>
#include <time.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

PageFaults page_faults(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (PageFaults){u.ru_minflt, u.ru_majflt};
}
