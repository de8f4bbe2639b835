/* The self-test image: runs the golden self-test of a generated model
 * (QT_SELFTEST, e.g. -DQT_SELFTEST=fmnist_cnn_selftest), prints the number of
 * mismatching outputs and the stack high-water mark, and exits with the
 * mismatch count (clamped to 127) as the qemu exit status. */
#include "semihost.h"
#include "startup.h"

#ifndef QT_SELFTEST
#error "define QT_SELFTEST as the generated NAME_selftest"
#endif

int QT_SELFTEST(void);

int main(void)
{
    int bad = QT_SELFTEST();
    semihost_write_int("selftest: mismatches ", bad);
    semihost_write_int(", stack bytes used ", (int32_t)startup_stack_used());
    semihost_write0("\n");
    if (bad < 0 || bad > 127)
        return 127;
    return bad;
}
