/* The plugin's own check: a loop of exactly two instructions per iteration
 * (Arm: subs, bne; RISC-V: addi, bnez), run for 1000 and 3000 iterations
 * between the markers, after an empty pair. icount.sh must report counts c0,
 * c1, c2 with c2 - c1 = 4000 exactly and c1 - c0 = 2000 plus the few
 * instructions of the call. */
#include <stdint.h>

#include "bench_marks.h"

__attribute__((noipa)) static void spin(uint32_t n)   /* n >= 1 */
{
#if defined(__riscv)
    __asm__ volatile("1:\taddi %0, %0, -1\n\tbnez %0, 1b" : "+r"(n));
#else
    __asm__ volatile(".syntax unified\n1:\tsubs %0, #1\n\tbne 1b" : "+l"(n) : : "cc");
#endif
}

/* One function for both lengths, so both are set up by the same instructions. */
__attribute__((noipa)) static void measure(uint32_t n)
{
    bench_start();
    spin(n);
    bench_stop();
}

int main(void)
{
    bench_start();
    bench_stop();
    measure(1000);
    measure(3000);
    return 0;
}
