/* bench_marks — out-of-line, distinct marker functions. noipa keeps GCC from
 * inlining them, cloning them or folding the two into one (identical code
 * folding is on at -Os); the volatile store makes each body one real store. */
#include "bench_marks.h"

static volatile int bench_phase;

__attribute__((noipa)) void bench_start(void)
{
    bench_phase = 1;
}

__attribute__((noipa)) void bench_stop(void)
{
    bench_phase = 2;
}
