#ifndef UTIL_TIMER_H
#define UTIL_TIMER_H
/* Clocks and counters of this process, for the benchmarks. */

/* Monotonic wall time in seconds. */
double now_seconds(void);
/* CPU time of the process in seconds: unlike wall time, it leaves out the moments another
 * process holds the core (the machine may be shared), but also the waits for storage. */
double cpu_seconds(void);

typedef struct { long minor, major; } PageFaults;
/* Page faults of the process so far (minor: mapped without I/O; major: read from storage). */
PageFaults page_faults(void);
#endif
