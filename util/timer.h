#ifndef UTIL_TIMER_H
#define UTIL_TIMER_H
/* Monotonic wall time in seconds. */
double now_seconds(void);
#endif
