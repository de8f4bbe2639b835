/* Tests for cfgcanon: the exact canonical text of a small config, layout and
 * number spelling that change nothing, the settings left out, and the message
 * naming the first differing field (changed, added, removed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfgcanon.h"
#include "tmpdir.h"

typedef struct {
    char dir[TMPDIR_CAP];
    char path[320];
    cfgcanon a, b;
    qerr e;
} fixture;

static int setup(void **state)
{
    if (tmpdir_fixture_new(state, "test_cfgcanon", sizeof(fixture)) != 0)
        return -1;
    fixture *f = *state;
    snprintf(f->path, sizeof f->path, "%s/c.yaml", f->dir);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cfgcanon_free(&f->a);
    cfgcanon_free(&f->b);
    return tmpdir_fixture_free(f);
}

/* Writes text as the config and builds its canonical form into c. */
static void build(fixture *f, cfgcanon *c, const char *text, uint64_t seed)
{
    assert_int_equal(tmpdir_write_text(f->path, text), 0);
    cfgcanon_free(c);
    if (cfgcanon_build(c, f->path, seed, &f->e))
        fail_msg("cfgcanon_build: %s", f->e.msg);
}

static const char BASE[] = "model:\n"
                           "  name: m\n"
                           "  layers:\n"
                           "    - conv2d: {out: 4, kernel: 3}\n"
                           "    - flatten: {}\n"
                           "train:\n"
                           "  lr: 0.05\n"
                           "  note: \"a\\tb\\\\c\"\n"
                           "tuning:\n"
                           "  random_seed: 7\n"
                           "  exit_policy: {timeout: 10}\n";

static void test_cfgcanon_text(void **state)
{
    fixture *f = *state;
    build(f, &f->a, BASE, 7);
    assert_string_equal(f->a.text, "seed (--seed, else tuning.random_seed): 7\n"
                                   "model.layers[0].conv2d.kernel: 3\n"
                                   "model.layers[0].conv2d.out: 4\n"
                                   "model.layers[1].flatten: {}\n"
                                   "model.name: m\n"
                                   "train.lr: 0.05\n"
                                   "train.note: a\\x09b\\\\c\n");
    assert_int_equal(f->a.len, strlen(f->a.text));
    assert_int_equal(f->a.n, 7);
    const int lines[7] = {10, 4, 4, 5, 2, 7, 8};
    for (int i = 0; i < 7; i++)
        if (f->a.line[i] != lines[i])
            fail_msg("entry %d: line %d, expected %d", i, f->a.line[i], lines[i]);
}

/* Block or flow style, key order, number spelling, the timeout, the accuracy
 * criterion and tuning.random_seed (the seed in effect is the argument)
 * change nothing. */
static void test_cfgcanon_same_settings_same_text(void **state)
{
    fixture *f = *state;
    build(f, &f->a, BASE, 7);
    build(f, &f->b,
          "tuning: {accuracy_criterion: {relative: 0.5}, random_seed: 99}\n"
          "train: {note: \"a\\tb\\\\c\", lr: 5e-2}\n"
          "model:\n"
          "  layers:\n"
          "    - conv2d:\n"
          "        kernel: 3.0\n"
          "        out: 4\n"
          "    - flatten: {}\n"
          "  name: m\n",
          7);
    assert_string_equal(f->a.text, f->b.text);
    assert_int_equal(cfgcanon_check(&f->b, f->a.text, f->a.len, "c.yaml", "m.ckpt", &f->e), 0);
}

/* cfgcanon_check of BASE (seed 7) against edited text. */
static void expect_refused(fixture *f, const char *text, uint64_t seed, const char *want)
{
    build(f, &f->a, BASE, 7);
    build(f, &f->b, text, seed);
    assert_int_equal(cfgcanon_check(&f->b, f->a.text, f->a.len, "c.yaml", "m.ckpt", &f->e), -1);
    char full[512];
    snprintf(full, sizeof full,
             "%s; --resume needs the settings the checkpoint was trained with (or train "
             "without --resume)",
             want);
    assert_string_equal(f->e.msg, full);
}

static void test_cfgcanon_check_names_first_difference(void **state)
{
    fixture *f = *state;
    char text[sizeof BASE + 64];
    /* changed (two fields: the first in canonical order is named) */
    snprintf(text, sizeof text, "%s", BASE);
    memcpy(strstr(text, "lr: 0.05"), "lr: 0.07", 8);
    memcpy(strstr(text, "out: 4"), "out: 8", 6);
    expect_refused(f, text, 7, "c.yaml:4: model.layers[0].conv2d.out: 8, but m.ckpt was trained with 4");
    /* the seed in effect */
    expect_refused(f, BASE, 8,
                   "c.yaml:10: seed (--seed, else tuning.random_seed): 8, but m.ckpt was trained "
                   "with 7");
    /* added */
    snprintf(text, sizeof text, "%smodel2: 1\n", BASE);
    expect_refused(f, text, 7, "c.yaml:12: model2: 1, absent when m.ckpt was trained");
    /* removed: the config has no line for it */
    snprintf(text, sizeof text, "%s", BASE);
    char *lr = strstr(text, "  lr: 0.05\n");
    memmove(lr, lr + 11, strlen(lr + 11) + 1);
    expect_refused(f, text, 7, "c.yaml: train.lr: absent, but m.ckpt was trained with 0.05");
    /* a longer old text: the field past the end of the new one */
    snprintf(text, sizeof text, "%s", BASE);
    char *note = strstr(text, "  note:");
    *note = '\0';
    expect_refused(f, text, 7, "c.yaml: train.note: absent, but m.ckpt was trained with a\\x09b\\\\c");
}

static void test_cfgcanon_rejects_syntax_error(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, "a: [1, 2\n"), 0);
    assert_int_equal(cfgcanon_build(&f->a, f->path, 1, &f->e), -1);
    assert_non_null(strstr(f->e.msg, f->path));
    assert_null(f->a.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMPDIR_TEST(test_cfgcanon_text),
        TMPDIR_TEST(test_cfgcanon_same_settings_same_text),
        TMPDIR_TEST(test_cfgcanon_check_names_first_difference),
        TMPDIR_TEST(test_cfgcanon_rejects_syntax_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
