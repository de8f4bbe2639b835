m4_divert(-1)
# kernels_thumb1.m4 — version THUMB1 of the inner loops (kernels.m4 lists what a version
# defines): Thumb-1 cores (Cortex-M0, M0+, M23), GCC or clang. Its helpers are not inlined
# (one copy of each, for flash); dot_1x4's loop is a naked assembly function.

# _QATC_THUMB1_ABOUT: what the version is for.
m4_define([_QATC_THUMB1_ABOUT], [[Thumb-1 cores (Cortex-M0, M0+, M23) with GCC or clang: the loop in
 *                    assembly, 4 instructions per multiply-accumulate (GCC's own Thumb-1
 *                    code for it needs 5 to 6).]])

# _QATC_THUMB1_PRELUDE: QATC_INLINE (nothing: one copy of each helper), QATC_ARG.
m4_define([_QATC_THUMB1_PRELUDE], [[#define QATC_INLINE /* Thumb-1: one copy of each helper, for flash */
]_QATC_NAKED_ARG])

# _QATC_THUMB1_DOT: dot4_thumb1, and dot_1x4 calling it.
m4_define([_QATC_THUMB1_DOT], [[
/* dot_1x4 for Thumb-1, in assembly: on these cores ldrsb takes no immediate offset, and
 * GCC's own code for the loop keeps pointers on the stack (5 to 6 instructions per
 * multiply-accumulate; this loop takes 4). A naked function (no code of the compiler's,
 * so it assembles the same at every optimization level): arguments as AAPCS passes them,
 * r0 = xe = x + n, r1 = we = w + n, r2 = w_step, r3 = acc, then n and nzp = -zp on the
 * stack. The loop, k from -n to -1:
 *   v = xe[k] + nzp;  acc[g] += (we + g * w_step)[k] * v  for g = 0..3
 * with acc[0..3] in r8..r11 (saved and restored), nzp in r12, acc's address in lr. */
__attribute__((naked, noinline)) static void dot4_thumb1(
    const int8_t *xe QATC_ARG, const int8_t *we QATC_ARG, int32_t w_step QATC_ARG,
    int32_t *acc QATC_ARG, int32_t n QATC_ARG, int32_t nzp QATC_ARG)
{
    __asm__(".syntax unified\n\t"
            "push {r4, r5, r6, r7, lr}\n\t"
            "mov r4, r8\n\t"
            "mov r5, r9\n\t"
            "mov r6, r10\n\t"
            "mov r7, r11\n\t"
            "push {r4, r5, r6, r7}\n\t"  /* n, nzp now at sp + 36, sp + 40 */
            "mov lr, r3\n\t"
            "adds r3, r1, r2\n\t"
            "adds r4, r3, r2\n\t"
            "adds r6, r4, r2\n\t"
            "mov r2, r3\n\t"             /* r1..r4: the ends of the 4 weight rows */
            "mov r3, r4\n\t"
            "mov r4, r6\n\t"
            "ldr r5, [sp, #36]\n\t"
            "negs r5, r5\n\t"            /* r5: k = -n */
            "ldr r6, [sp, #40]\n\t"
            "mov r12, r6\n\t"
            "mov r7, lr\n\t"
            "ldr r6, [r7, #0]\n\t"
            "mov r8, r6\n\t"
            "ldr r6, [r7, #4]\n\t"
            "mov r9, r6\n\t"
            "ldr r6, [r7, #8]\n\t"
            "mov r10, r6\n\t"
            "ldr r6, [r7, #12]\n\t"
            "mov r11, r6\n"
            "1:\n\t"
            "ldrsb r6, [r0, r5]\n\t"     /* v = x - zp */
            "add r6, r12\n\t"
            "ldrsb r7, [r1, r5]\n\t"
            "muls r7, r6, r7\n\t"
            "add r8, r7\n\t"
            "ldrsb r7, [r2, r5]\n\t"
            "muls r7, r6, r7\n\t"
            "add r9, r7\n\t"
            "ldrsb r7, [r3, r5]\n\t"
            "muls r7, r6, r7\n\t"
            "add r10, r7\n\t"
            "ldrsb r7, [r4, r5]\n\t"
            "muls r7, r6, r7\n\t"
            "add r11, r7\n\t"
            "adds r5, #1\n\t"
            "bne 1b\n\t"
            "mov r7, lr\n\t"
            "mov r6, r8\n\t"
            "str r6, [r7, #0]\n\t"
            "mov r6, r9\n\t"
            "str r6, [r7, #4]\n\t"
            "mov r6, r10\n\t"
            "str r6, [r7, #8]\n\t"
            "mov r6, r11\n\t"
            "str r6, [r7, #12]\n\t"
            "pop {r4, r5, r6, r7}\n\t"
            "mov r8, r4\n\t"
            "mov r9, r5\n\t"
            "mov r10, r6\n\t"
            "mov r11, r7\n\t"
            "pop {r4, r5, r6, r7, pc}");
}

static QATC_INLINE void dot_1x4(const int8_t *x, const int8_t *w, int32_t w_step, int32_t n,
                                int32_t zp, int32_t acc[4])
{
    if (n > 0)
        dot4_thumb1(x + n, w + n, w_step, acc, n, -zp);
}
]])

# _QATC_THUMB1_CONV: int8 weights and windows; dot_2x4 as two dot_1x4.
m4_define([_QATC_THUMB1_CONV], [_QATC_IN_PLACE_CONV([_QATC_DOT_2X4_TWICE])])

# _QATC_THUMB1_GATHER: the windows copied as int8.
m4_define([_QATC_THUMB1_GATHER], [_QATC_IN_PLACE_GATHER])
