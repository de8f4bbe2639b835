/* Tests for qerr: the message format and that a message is always one line
 * (input text with newlines or other control characters is escaped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qerr.h"

static void test_qerr_at_formats_file_and_line(void **state)
{
    (void)state;
    qerr e;
    assert_int_equal(qerr_at(&e, "m.yaml", 7, "%s: %d", "model.x", 3), -1);
    assert_string_equal(e.msg, "m.yaml:7: model.x: 3");
    qerr_at(&e, "m.yaml", 0, "empty");
    assert_string_equal(e.msg, "m.yaml: empty");
    assert_int_equal(qerr_set(NULL, "ignored"), -1);
}

static void test_qerr_escapes_control_characters(void **state)
{
    (void)state;
    qerr e;
    /* A multi-line YAML scalar echoed in a message (found by fuzz_config). */
    qerr_at(&e, "c.yaml", 1, "expected a mapping, got '%s'", "ab\ncd\r\t\x01\x7f");
    assert_string_equal(e.msg, "c.yaml:1: expected a mapping, got 'ab\\ncd\\r\\t\\x01\\x7f'");
    qerr_set(&e, "%s: bad", "dir\nname");
    assert_string_equal(e.msg, "dir\\nname: bad");
    assert_null(strchr(e.msg, '\n'));
}

static void test_qerr_long_message_is_cut_on_an_escape_boundary(void **state)
{
    (void)state;
    qerr e;
    char text[2 * sizeof e.msg];
    memset(text, '\n', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    qerr_set(&e, "%s", text);
    size_t len = strlen(e.msg);
    assert_true(len < sizeof e.msg);
    assert_true(len % 2 == 0); /* whole "\n" pairs only */
    assert_null(strchr(e.msg, '\n'));
}

static void test_qerr_earlier_message_as_argument(void **state)
{
    (void)state;
    qerr e;
    qerr_set(&e, "inner problem");
    qerr_at(&e, "f.idx", 0, "while reading: %s", e.msg);
    assert_string_equal(e.msg, "f.idx: while reading: inner problem");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qerr_at_formats_file_and_line),
        cmocka_unit_test(test_qerr_escapes_control_characters),
        cmocka_unit_test(test_qerr_long_message_is_cut_on_an_escape_boundary),
        cmocka_unit_test(test_qerr_earlier_message_as_argument),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
