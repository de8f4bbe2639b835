/* bench_marks — the two marker functions that bench/qemu_icount/icount.c
 * counts instructions between: call bench_start() right before the code to
 * measure and bench_stop() right after. */
#ifndef QATC_BENCH_MARKS_H
#define QATC_BENCH_MARKS_H

void bench_start(void);
void bench_stop(void);

#endif
