/* Tests for yamlx: every accessor, and the exact text of every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"
#include "yamlx.h"

typedef struct {
    char dir[TMPDIR_CAP];
    char path[320];
    yx_doc doc;
    qerr e;
} fixture;

static int setup(void **state)
{
    if (tmpdir_fixture_new(state, "test_yamlx", sizeof(fixture)) != 0)
        return -1;
    fixture *f = *state;
    snprintf(f->path, sizeof f->path, "%s/t.yaml", f->dir);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    yx_free(&f->doc);
    return tmpdir_fixture_free(f);
}

/* Writes text to the fixture's file and loads it; returns yx_load's result. */
static int load(fixture *f, const char *text)
{
    assert_int_equal(tmpdir_write_text(f->path, text), 0);
    yx_free(&f->doc);
    memset(&f->e, 0, sizeof f->e);
    return yx_load(&f->doc, f->path, &f->e);
}

/* Asserts that the message is exactly "PATH:" followed by rest. */
static void assert_msg(const fixture *f, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof want, "%s:%s", f->path, rest);
    assert_string_equal(f->e.msg, want);
}

static void test_yamlx_load_and_walk(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: 1\nlist:\n  - x\n  - {k: v}\nnested: {b: 2}\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    assert_non_null(root);
    assert_int_equal(yx_expect_map(&f->doc, root, "", &f->e), 0);
    assert_int_equal(yx_line(root), 1);
    yaml_node_t *list = yx_get(&f->doc, root, "list");
    assert_non_null(list);
    assert_int_equal(yx_expect_seq(&f->doc, list, "list", &f->e), 0);
    assert_int_equal(yx_seq_len(list), 2);
    assert_int_equal(yx_line(yx_seq_item(&f->doc, list, 0)), 3);
    yaml_node_t *item = yx_seq_item(&f->doc, list, 1);
    assert_int_equal(yx_line(item), 4);
    assert_int_equal(item->type, YAML_MAPPING_NODE);
    assert_null(yx_seq_item(&f->doc, list, 2));
    assert_null(yx_seq_item(&f->doc, list, -1));
    assert_null(yx_get(&f->doc, root, "missing"));
    assert_null(yx_get(&f->doc, list, "a")); /* not a mapping */
    assert_int_equal(yx_seq_len(root), 0);
    yaml_node_t *nested = yx_get(&f->doc, root, "nested");
    assert_int_equal(yx_line(nested), 5);
}

static void test_yamlx_empty_document(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, ""), 0);
    assert_null(yx_root(&f->doc));
    assert_int_equal(load(f, "# only a comment\n"), 0);
    assert_null(yx_root(&f->doc));
}

static void test_yamlx_missing_file(void **state)
{
    fixture *f = *state;
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nope.yaml", f->dir);
    assert_int_equal(yx_load(&f->doc, missing, &f->e), -1);
    char want[512];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    assert_string_equal(f->e.msg, want);
    assert_int_equal(yx_load(&f->doc, f->dir, &f->e), -1);
    snprintf(want, sizeof want, "%s: is a directory", f->dir);
    assert_string_equal(f->e.msg, want);
}

static void test_yamlx_syntax_error_names_line(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: 1\nb: [1, 2\nc: 3\n"), -1);
    assert_non_null(strstr(f->e.msg, "YAML syntax error"));
    assert_int_equal(strncmp(f->e.msg, f->path, strlen(f->path)), 0);
    /* the unclosed flow sequence is noticed on line 3 */
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s:3: ", f->path);
    assert_int_equal(strncmp(f->e.msg, prefix, strlen(prefix)), 0);
    assert_int_equal(f->doc.loaded, 0);

    assert_int_equal(load(f, "a: 1\n  b: 2\n"), -1);
    snprintf(prefix, sizeof prefix, "%s:2: YAML syntax error: ", f->path);
    assert_int_equal(strncmp(f->e.msg, prefix, strlen(prefix)), 0);
}

static void test_yamlx_two_documents_rejected(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: 1\n---\nb: 2\n"), -1);
    assert_msg(f, "3: more than one YAML document");
    assert_int_equal(f->doc.loaded, 0);
}

static void test_yamlx_expect_type_messages(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "m: {a: 1}\ns: [1]\nt: hello\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    assert_int_equal(yx_expect_map(&f->doc, yx_get(&f->doc, root, "s"), "x.s", &f->e), -1);
    assert_msg(f, "2: x.s: expected a mapping, got a sequence");
    assert_int_equal(yx_expect_seq(&f->doc, yx_get(&f->doc, root, "m"), "x.m", &f->e), -1);
    assert_msg(f, "1: x.m: expected a sequence, got a mapping");
    assert_int_equal(yx_expect_seq(&f->doc, yx_get(&f->doc, root, "t"), "x.t", &f->e), -1);
    assert_msg(f, "3: x.t: expected a sequence, got 'hello'");
}

static void test_yamlx_check_keys_suggests_nearest(void **state)
{
    fixture *f = *state;
    static const char *const allowed[] = {"out", "kernel", "stride", "pad", NULL};
    assert_int_equal(load(f, "out: 4\nkernal: 3\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    assert_int_equal(yx_check_keys(&f->doc, root, allowed, "model.layers[0].conv2d", &f->e), -1);
    assert_msg(f, "2: model.layers[0].conv2d.kernal: unknown key, did you mean 'kernel'?");

    /* swapped neighbours are one edit */
    assert_int_equal(load(f, "out: 4\nsrtide: 3\n"), 0);
    root = yx_root(&f->doc);
    assert_int_equal(yx_check_keys(&f->doc, root, allowed, "c", &f->e), -1);
    assert_msg(f, "2: c.srtide: unknown key, did you mean 'stride'?");

    /* nothing close: list the valid keys */
    assert_int_equal(load(f, "banana: 3\n"), 0);
    root = yx_root(&f->doc);
    assert_int_equal(yx_check_keys(&f->doc, root, allowed, "c", &f->e), -1);
    assert_msg(f, "1: c.banana: unknown key (valid keys: out, kernel, stride, pad)");

    /* at the top level the field is the key itself */
    assert_int_equal(load(f, "modle: 1\n"), 0);
    static const char *const top[] = {"model", "data", NULL};
    assert_int_equal(yx_check_keys(&f->doc, yx_root(&f->doc), top, "", &f->e), -1);
    assert_msg(f, "1: modle: unknown key, did you mean 'model'?");

    static const char *const none[] = {NULL};
    assert_int_equal(load(f, "x: 1\n"), 0);
    root = yx_root(&f->doc);
    assert_int_equal(yx_check_keys(&f->doc, root, none, "flatten", &f->e), -1);
    assert_msg(f, "1: flatten.x: unknown key (no keys allowed here)");

    /* all keys valid */
    assert_int_equal(load(f, "out: 4\nkernel: 3\npad: 1\n"), 0);
    root = yx_root(&f->doc);
    assert_int_equal(yx_check_keys(&f->doc, root, allowed, "c", &f->e), 0);
}

static void test_yamlx_check_keys_rejects_duplicates(void **state)
{
    fixture *f = *state;
    static const char *const allowed[] = {"out", "kernel", NULL};
    assert_int_equal(load(f, "kernel: 3\nout: 2\nkernel: 5\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    assert_int_equal(yx_check_keys(&f->doc, root, allowed, "c", &f->e), -1);
    assert_msg(f, "3: c.kernel: duplicate key (first on line 1)");
}

static void test_yamlx_check_keys_rejects_complex_keys(void **state)
{
    fixture *f = *state;
    static const char *const allowed[] = {"out", NULL};
    assert_int_equal(load(f, "? [a, b]\n: 1\n"), 0);
    assert_int_equal(yx_check_keys(&f->doc, yx_root(&f->doc), allowed, "c", &f->e), -1);
    assert_msg(f, "1: c: keys must be plain strings, got a sequence");
    assert_int_equal(load(f, "[1]\n"), 0);
    assert_int_equal(yx_check_keys(&f->doc, yx_root(&f->doc), allowed, "c", &f->e), -1);
    assert_msg(f, "1: c: expected a mapping, got a sequence");
}

static void test_yamlx_int(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: 42\nb: -7\nc: +3\nd: abc\ne: 4.0\nf: 0x10\ng: '5'\n"
                             "h: 99999999999999999999\ni:\nj: [1]\nk: 1024\nl: 12abc\n"),
                     0);
    yaml_node_t *root = yx_root(&f->doc);
    int64_t v = 0;
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "a"), "a", 0, 100, &v, &f->e), 0);
    assert_int_equal(v, 42);
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "b"), "b", -10, 10, &v, &f->e), 0);
    assert_int_equal(v, -7);
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "c"), "c", -10, 10, &v, &f->e), 0);
    assert_int_equal(v, 3);

    v = 11;
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "d"), "m.d", 0, 9, &v, &f->e), -1);
    assert_msg(f, "4: m.d: expected an integer, got 'abc'");
    assert_int_equal(v, 11); /* untouched on failure */
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "e"), "m.e", 0, 9, &v, &f->e), -1);
    assert_msg(f, "5: m.e: expected an integer, got '4.0'");
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "f"), "m.f", 0, 99, &v, &f->e), -1);
    assert_msg(f, "6: m.f: expected an integer, got '0x10'");
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "g"), "m.g", 0, 9, &v, &f->e), -1);
    assert_msg(f, "7: m.g: expected an integer, got the quoted string '5'");
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "h"), "m.h", INT64_MIN, INT64_MAX,
                            &v, &f->e), -1);
    assert_msg(f, "8: m.h: 99999999999999999999 is out of range "
                  "[-9223372036854775808, 9223372036854775807]");
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "i"), "m.i", 0, 9, &v, &f->e), -1);
    assert_msg(f, "9: m.i: expected an integer, got nothing");
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "j"), "m.j", 0, 9, &v, &f->e), -1);
    assert_msg(f, "10: m.j: expected an integer, got a sequence");
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "k"), "m.k", 1, 1023, &v, &f->e), -1);
    assert_msg(f, "11: m.k: 1024 is out of range [1, 1023]");
    assert_int_equal(yx_int(&f->doc, yx_get(&f->doc, root, "l"), "m.l", 0, 99, &v, &f->e), -1);
    assert_msg(f, "12: m.l: expected an integer, got '12abc'");
}

static void test_yamlx_double(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: 0.00392156862745098\nb: 5e-4\nc: -2\nd: .inf\ne: inf\n"
                             "f: nan\ng: 1e999\nh: 1.5x\ni: \"0.5\"\n"),
                     0);
    yaml_node_t *root = yx_root(&f->doc);
    double v = 0;
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "a"), "a", &v, &f->e), 0);
    assert_true(v == 0.00392156862745098);
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "b"), "b", &v, &f->e), 0);
    assert_true(v == 5e-4);
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "c"), "c", &v, &f->e), 0);
    assert_true(v == -2.0);
    v = 7;
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "d"), "q.d", &v, &f->e), -1);
    assert_msg(f, "4: q.d: expected a finite number, got '.inf'");
    assert_true(v == 7.0);
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "e"), "q.e", &v, &f->e), -1);
    assert_msg(f, "5: q.e: expected a finite number, got 'inf'");
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "f"), "q.f", &v, &f->e), -1);
    assert_msg(f, "6: q.f: expected a finite number, got 'nan'");
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "g"), "q.g", &v, &f->e), -1);
    assert_msg(f, "7: q.g: expected a finite number, got '1e999'");
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "h"), "q.h", &v, &f->e), -1);
    assert_msg(f, "8: q.h: expected a number, got '1.5x'");
    assert_int_equal(yx_double(&f->doc, yx_get(&f->doc, root, "i"), "q.i", &v, &f->e), -1);
    assert_msg(f, "9: q.i: expected a number, got the quoted string '0.5'");
    assert_true(v == 7.0);
}

/* One set of rules for every number (qnum): decimal only, whole, never
 * clamped; a tag must be the value's own type. */
static void test_yamlx_numbers_are_strict(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: 0x1p-4\nb: 0x10\nc: 1_000\nd: 010\n"
                             "e: 99999999999999999999\nf: !!str 4\ng: !!int 4\nh: !!float 4\n"
                             "i: !!str 0.5\nj: !!bool true\nk: !!str true\nl: !!int name\n"
                             "m: !custom 4\nn: -9223372036854775808\no: 1.\np: .5\nq: +3\n"
                             "r: 1e\ns: ' 4'\nt: !!seq [1]\nu: !!map [1]\n"),
                     0);
    yaml_node_t *root = yx_root(&f->doc);
    double v = 7;
    int64_t i = 7;
    int b = 7;
    char str[16];
#define NODE(k) yx_get(&f->doc, root, k)
    assert_int_equal(yx_double(&f->doc, NODE("a"), "a", &v, &f->e), -1);
    assert_msg(f, "1: a: expected a number, got '0x1p-4'");
    assert_int_equal(yx_int(&f->doc, NODE("b"), "b", 0, 100, &i, &f->e), -1);
    assert_msg(f, "2: b: expected an integer, got '0x10'");
    assert_int_equal(yx_int(&f->doc, NODE("c"), "c", 0, 10000, &i, &f->e), -1);
    assert_msg(f, "3: c: expected an integer, got '1_000'");
    assert_int_equal(yx_int(&f->doc, NODE("d"), "d", 0, 100, &i, &f->e), -1);
    assert_msg(f, "4: d: '010': leading zeros are ambiguous (octal in YAML 1.1); write it "
                  "without them");
    assert_int_equal(yx_int(&f->doc, NODE("e"), "e", 0, INT64_MAX, &i, &f->e), -1);
    assert_msg(f, "5: e: 99999999999999999999 is out of range [0, 9223372036854775807]");
    assert_int_equal(yx_int(&f->doc, NODE("f"), "f", 0, 9, &i, &f->e), -1);
    assert_msg(f, "6: f: expected an integer, got '4' tagged !!str");
    assert_true(i == 7 && v == 7);
    assert_int_equal(yx_int(&f->doc, NODE("g"), "g", 0, 9, &i, &f->e), 0);
    assert_true(i == 4);
    assert_int_equal(yx_double(&f->doc, NODE("h"), "h", &v, &f->e), 0);
    assert_true(v == 4.0);
    assert_int_equal(yx_double(&f->doc, NODE("g"), "g", &v, &f->e), 0); /* !!int is a number */
    assert_int_equal(yx_double(&f->doc, NODE("i"), "i", &v, &f->e), -1);
    assert_msg(f, "9: i: expected a number, got '0.5' tagged !!str");
    assert_int_equal(yx_bool(&f->doc, NODE("j"), "j", &b, &f->e), 0);
    assert_int_equal(yx_bool(&f->doc, NODE("k"), "k", &b, &f->e), -1);
    assert_msg(f, "11: k: expected true or false, got 'true' tagged !!str");
    assert_int_equal(yx_string(&f->doc, NODE("f"), "f", str, sizeof str, &f->e), 0);
    assert_string_equal(str, "4");
    assert_int_equal(yx_string(&f->doc, NODE("l"), "l", str, sizeof str, &f->e), -1);
    assert_msg(f, "12: l: expected a string, got 'name' tagged !!int");
    assert_int_equal(yx_int(&f->doc, NODE("m"), "m", 0, 9, &i, &f->e), -1);
    assert_msg(f, "13: m: expected an integer, got '4' tagged !custom");
    assert_int_equal(yx_int(&f->doc, NODE("n"), "n", INT64_MIN, 0, &i, &f->e), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(yx_double(&f->doc, NODE("o"), "o", &v, &f->e), 0);
    assert_true(v == 1.0);
    assert_int_equal(yx_double(&f->doc, NODE("p"), "p", &v, &f->e), 0);
    assert_true(v == 0.5);
    assert_int_equal(yx_int(&f->doc, NODE("q"), "q", 0, 9, &i, &f->e), 0);
    assert_true(i == 3);
    assert_int_equal(yx_double(&f->doc, NODE("r"), "r", &v, &f->e), -1);
    assert_msg(f, "18: r: expected a number, got '1e'");
    assert_int_equal(yx_int(&f->doc, NODE("s"), "s", 0, 9, &i, &f->e), -1);
    assert_msg(f, "19: s: expected an integer, got the quoted string ' 4'");
    assert_int_equal(yx_expect_seq(&f->doc, NODE("t"), "t", &f->e), 0);
    assert_int_equal(yx_expect_seq(&f->doc, NODE("u"), "u", &f->e), -1);
    assert_msg(f, "21: u: expected a sequence, got one tagged !!map");
#undef NODE
}

static void test_yamlx_bool(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: true\nb: false\nc: yes\nd: 1\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    int v = 5;
    assert_int_equal(yx_bool(&f->doc, yx_get(&f->doc, root, "a"), "a", &v, &f->e), 0);
    assert_int_equal(v, 1);
    assert_int_equal(yx_bool(&f->doc, yx_get(&f->doc, root, "b"), "b", &v, &f->e), 0);
    assert_int_equal(v, 0);
    assert_int_equal(yx_bool(&f->doc, yx_get(&f->doc, root, "c"), "bn", &v, &f->e), -1);
    assert_msg(f, "3: bn: expected true or false, got 'yes'");
    assert_int_equal(yx_bool(&f->doc, yx_get(&f->doc, root, "d"), "bn", &v, &f->e), -1);
    assert_msg(f, "4: bn: expected true or false, got '1'");
    assert_int_equal(v, 0);
}

static void test_yamlx_string(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: hello\nb: 'quoted: yes'\nc: toolongforthis\nd: {x: 1}\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    char buf[8];
    assert_int_equal(yx_string(&f->doc, yx_get(&f->doc, root, "a"), "a", buf, sizeof buf,
                               &f->e), 0);
    assert_string_equal(buf, "hello");
    char big[32];
    assert_int_equal(yx_string(&f->doc, yx_get(&f->doc, root, "b"), "b", big, sizeof big,
                               &f->e), 0);
    assert_string_equal(big, "quoted: yes");
    assert_int_equal(yx_string(&f->doc, yx_get(&f->doc, root, "c"), "s.c", buf, sizeof buf,
                               &f->e), -1);
    assert_msg(f, "3: s.c: longer than 7 characters");
    assert_string_equal(buf, "hello");
    assert_int_equal(yx_string(&f->doc, yx_get(&f->doc, root, "d"), "s.d", buf, sizeof buf,
                               &f->e), -1);
    assert_msg(f, "4: s.d: expected a string, got a mapping");
}

static void test_yamlx_enum(void **state)
{
    fixture *f = *state;
    static const char *const choices[] = {"sgd", "adam", NULL};
    assert_int_equal(load(f, "a: adam\nb: sdg\nc: rmsprop\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    int v = -1;
    assert_int_equal(yx_enum(&f->doc, yx_get(&f->doc, root, "a"), "a", choices, &v, &f->e), 0);
    assert_int_equal(v, 1);
    assert_int_equal(yx_enum(&f->doc, yx_get(&f->doc, root, "b"), "opt.type", choices, &v,
                             &f->e), -1);
    assert_msg(f, "2: opt.type: unknown value 'sdg', did you mean 'sgd'? (one of: sgd, adam)");
    assert_int_equal(yx_enum(&f->doc, yx_get(&f->doc, root, "c"), "opt.type", choices, &v,
                             &f->e), -1);
    assert_msg(f, "3: opt.type: unknown value 'rmsprop' (one of: sgd, adam)");
    assert_int_equal(v, 1);
}

static void test_yamlx_optional_members_keep_defaults(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "epochs: 3\nlr: 0.5\nbad: x\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    int64_t i = 9;
    double dv = 0.25;
    assert_int_equal(yx_get_int(&f->doc, root, "iterations", "p.iterations", 0, 10, &i, &f->e),
                     0);
    assert_int_equal(i, 9);
    assert_int_equal(yx_get_int(&f->doc, root, "epochs", "p.epochs", 0, 10, &i, &f->e), 0);
    assert_int_equal(i, 3);
    assert_int_equal(yx_get_double(&f->doc, root, "momentum", "p.momentum", &dv, &f->e), 0);
    assert_true(dv == 0.25);
    assert_int_equal(yx_get_double(&f->doc, root, "lr", "p.lr", &dv, &f->e), 0);
    assert_true(dv == 0.5);
    assert_int_equal(yx_get_int(&f->doc, root, "bad", "p.bad", 0, 10, &i, &f->e), -1);
    assert_msg(f, "3: p.bad: expected an integer, got 'x'");
    assert_int_equal(yx_get_double(&f->doc, root, "bad", "p.bad", &dv, &f->e), -1);
    assert_msg(f, "3: p.bad: expected a number, got 'x'");
}

static void test_yamlx_aliases_resolve(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "base: &b {lr: 0.1}\nother: *b\n"), 0);
    yaml_node_t *other = yx_get(&f->doc, yx_root(&f->doc), "other");
    double lr = 0;
    assert_int_equal(yx_get_double(&f->doc, other, "lr", "other.lr", &lr, &f->e), 0);
    assert_true(lr == 0.1);
}

/* A text of n nested flow sequences around x: [[[x]]]. */
static char *nested(int n)
{
    char *t = malloc((size_t)2 * n + 3);
    assert_non_null(t);
    memset(t, '[', (size_t)n);
    t[n] = 'x';
    memset(t + n + 1, ']', (size_t)n);
    strcpy(t + 2 * n + 1, "\n");
    return t;
}

/* libyaml has no depth limit: yx_load counts the collections open at once. */
static void test_yamlx_depth_limit(void **state)
{
    fixture *f = *state;
    char *t = nested(YX_MAX_DEPTH);
    assert_int_equal(load(f, t), 0);
    free(t);
    t = nested(YX_MAX_DEPTH + 1);
    assert_int_equal(load(f, t), -1);
    assert_msg(f, "1: nested deeper than 32 levels");
    free(t);
    /* 200,000 levels: refused at level 33, at once (libyaml alone takes minutes) */
    t = nested(200000);
    assert_int_equal(load(f, t), -1);
    assert_msg(f, "1: nested deeper than 32 levels");
    free(t);
    /* in block style too, on the line of level 33 */
    char block[4096] = "";
    for (int i = 0; i < 40; i++)
        snprintf(block + strlen(block), sizeof block - strlen(block), "%*sk%d:\n", 2 * i, "", i);
    assert_int_equal(load(f, block), -1);
    assert_msg(f, "33: nested deeper than 32 levels");
    assert_int_equal(f->doc.loaded, 0);
}

/* Nodes are counted with aliases expanded, so "billion laughs" is refused
 * while it is read, and a walk over any accepted document is bounded. */
static void test_yamlx_node_limit_counts_aliases(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, "a: [1, 2, 3]\nb: 4\n"), 0);
    yx_limits lim = {1 << 20, 7, YX_MAX_DEPTH}; /* root, a, [..], 1, 2, 3, b: 7; 4 is 8th */
    assert_int_equal(yx_load_limited(&f->doc, f->path, &lim, &f->e), -1);
    assert_msg(f, "2: more than 7 YAML nodes (values and collections, aliases counted as what "
                  "they stand for)");
    lim.max_nodes = 8;
    assert_int_equal(yx_load_limited(&f->doc, f->path, &lim, &f->e), 0);
    yx_free(&f->doc);
    /* an alias counts as its whole subtree */
    assert_int_equal(tmpdir_write_text(f->path, "a: &x [1, 2, 3]\nb: *x\n"), 0);
    assert_int_equal(yx_load_limited(&f->doc, f->path, &lim, &f->e), -1);
    assert_msg(f, "2: more than 8 YAML nodes (values and collections, aliases counted as what "
                  "they stand for)");
    /* ten levels of ten aliases each: 10^10 nodes in 500 bytes */
    char laughs[2048] = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i <= 10; i++) {
        snprintf(laughs + strlen(laughs), sizeof laughs - strlen(laughs), "l%d: &l%d [", i, i);
        for (int k = 0; k < 10; k++)
            snprintf(laughs + strlen(laughs), sizeof laughs - strlen(laughs), "%s*l%d",
                     k ? ", " : "", i - 1);
        snprintf(laughs + strlen(laughs), sizeof laughs - strlen(laughs), "]\n");
    }
    assert_int_equal(load(f, laughs), -1);
    assert_non_null(strstr(f->e.msg, "more than 33554432 YAML nodes"));
}

static void test_yamlx_size_limit(void **state)
{
    fixture *f = *state;
    char text[201];
    memset(text, '#', 200);
    text[200] = '\0';
    assert_int_equal(tmpdir_write_text(f->path, text), 0);
    yx_limits lim = {199, 100, YX_MAX_DEPTH};
    assert_int_equal(yx_load_limited(&f->doc, f->path, &lim, &f->e), -1);
    char want[512];
    snprintf(want, sizeof want, "%s: 200 bytes, more than 199, the limit for this kind of file",
             f->path);
    assert_string_equal(f->e.msg, want);
    lim.max_bytes = 200;
    assert_int_equal(yx_load_limited(&f->doc, f->path, &lim, &f->e), 0);
}

static void test_yamlx_bad_aliases(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "a: 1\nb: *nope\n"), -1);
    assert_msg(f, "2: alias *nope has no anchor &nope before it");
    assert_int_equal(load(f, "a: &s [1, *s]\n"), -1);
    assert_msg(f, "1: alias *s inside its own anchor (a cycle)");
    char many[8192] = "";
    for (int i = 0; i <= YX_MAX_ANCHORS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "k%d: &a%d %d\n", i, i, i);
    assert_int_equal(load(f, many), -1);
    assert_msg(f, "257: more than 256 YAML anchors");
}

/* A FIFO with no writer is refused at once, not waited on. */
static void test_yamlx_refuses_a_fifo(void **state)
{
    fixture *f = *state;
    char fifo[400];
    snprintf(fifo, sizeof fifo, "%s/fifo.yaml", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(yx_load(&f->doc, fifo, &f->e), -1);
    char want[512];
    snprintf(want, sizeof want, "%s: is not a regular file", fifo);
    assert_string_equal(f->e.msg, want);
    unlink(fifo);
}

static void test_yamlx_key_line(void **state)
{
    fixture *f = *state;
    assert_int_equal(load(f, "# comment\nmodel:\n\n  layers:\n    - a\n  input:\n"
                             "    shape: 1\n"), 0);
    yaml_node_t *root = yx_root(&f->doc);
    yaml_node_t *model = yx_get(&f->doc, root, "model");
    assert_int_equal(yx_line(model), 4);              /* the mapping starts at its first key */
    assert_int_equal(yx_key_line(&f->doc, model), 2); /* "model:" */
    yaml_node_t *input = yx_get(&f->doc, model, "input");
    assert_int_equal(yx_key_line(&f->doc, input), 6);
    yaml_node_t *layers = yx_get(&f->doc, model, "layers");
    assert_int_equal(yx_key_line(&f->doc, layers), 4);
    /* not a mapping value: its own line */
    assert_int_equal(yx_key_line(&f->doc, root), yx_line(root));
    assert_int_equal(yx_key_line(&f->doc, yx_seq_item(&f->doc, layers, 0)), 5);
}

static void test_yamlx_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(yx_edit_distance("", ""), 0);
    assert_int_equal(yx_edit_distance("abc", ""), 3);
    assert_int_equal(yx_edit_distance("", "abc"), 3);
    assert_int_equal(yx_edit_distance("kernel", "kernel"), 0);
    assert_int_equal(yx_edit_distance("kernal", "kernel"), 1);
    assert_int_equal(yx_edit_distance("kernle", "kernel"), 1);
    assert_int_equal(yx_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(yx_edit_distance("epoch", "epochs"), 1);
    assert_int_equal(yx_edit_distance("ca", "abc"), 3); /* optimal string alignment */
    char longer[300];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(yx_edit_distance(longer, "a"), 299);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMPDIR_TEST(test_yamlx_load_and_walk),
        TMPDIR_TEST(test_yamlx_empty_document),
        TMPDIR_TEST(test_yamlx_missing_file),
        TMPDIR_TEST(test_yamlx_syntax_error_names_line),
        TMPDIR_TEST(test_yamlx_two_documents_rejected),
        TMPDIR_TEST(test_yamlx_expect_type_messages),
        TMPDIR_TEST(test_yamlx_check_keys_suggests_nearest),
        TMPDIR_TEST(test_yamlx_check_keys_rejects_duplicates),
        TMPDIR_TEST(test_yamlx_check_keys_rejects_complex_keys),
        TMPDIR_TEST(test_yamlx_int),
        TMPDIR_TEST(test_yamlx_double),
        TMPDIR_TEST(test_yamlx_numbers_are_strict),
        TMPDIR_TEST(test_yamlx_bool),
        TMPDIR_TEST(test_yamlx_string),
        TMPDIR_TEST(test_yamlx_enum),
        TMPDIR_TEST(test_yamlx_optional_members_keep_defaults),
        TMPDIR_TEST(test_yamlx_aliases_resolve),
        TMPDIR_TEST(test_yamlx_key_line),
        TMPDIR_TEST(test_yamlx_depth_limit),
        TMPDIR_TEST(test_yamlx_node_limit_counts_aliases),
        TMPDIR_TEST(test_yamlx_size_limit),
        TMPDIR_TEST(test_yamlx_bad_aliases),
        TMPDIR_TEST(test_yamlx_refuses_a_fifo),
        cmocka_unit_test(test_yamlx_edit_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
