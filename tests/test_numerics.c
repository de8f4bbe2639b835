/* Numerics guards of the trainer's int8 conversion (issue: nothing lost,
 * nothing crashes): a layer whose activation observer saw no data is
 * reported naming the config's file, line and layer instead of producing a
 * model with made-up scales; once a batch went through, conversion works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "convert.h"
#include "net.h"
#include "qmodel.h"
#include "rng.h"

static const char CONFIG[] =
    "model:\n"
    "  name: unobserved\n"
    "  input: {shape: [6, 6, 1]}\n"
    "  layers:\n"
    "    - conv2d: {out: 3, kernel: 3, pad: 1, bn: true, act: relu}\n"
    "    - avgpool: {global: true}\n"
    "    - flatten: {}\n"
    "    - linear: {out: 2}\n";

static void test_numerics_unobserved_layer_is_reported(void **state)
{
    (void)state;
    char path[] = "/tmp/test_numerics_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, CONFIG, sizeof CONFIG - 1), (ssize_t)(sizeof CONFIG - 1));
    close(fd);
    static cfg_config c;
    qerr e = {{0}};
    int rc = cfg_read(path, &c, &e);
    unlink(path);
    if (rc)
        fail_msg("%s", e.msg);

    net n;
    assert_int_equal(net_build(&n, &c, 4, &e), 0);
    rng_state r;
    rng_seed(&r, 3);
    net_init(&n, &r);
    net_set_qat(&n, 1); /* fresh observers: nothing seen */
    q_model m;
    assert_int_equal(convert_net(&n, &c, &m, NULL, &e), -1);
    char want[600];
    snprintf(want, sizeof want, "%s:5: model.layers[0]: its activation observer saw no data",
             path);
    assert_string_equal(e.msg, want);
    assert_null(m.layers);

    /* One training batch through the observers: now it converts. */
    float *in = net_input(&n);
    for (int i = 0; i < 4 * 36; i++)
        in[i] = rng_uniform(&r) - 0.5f;
    net_forward(&n, 4, 1);
    if (convert_net(&n, &c, &m, NULL, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(m.n_layers, 4);
    q_model_free(&m);
    net_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numerics_unobserved_layer_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
