/* libFuzzer target: frozen_read on arbitrary bytes, and what a model that
 * passes it must survive.
 *
 * Checks: no crash, leak or undefined behaviour (sanitizers); a rejection is
 * one line naming the file and leaves the model zeroed. An accepted model
 *   - writes (frozen_write), reads back and writes again to the same bytes;
 *   - runs through the int8 reference interpreter (q8_exec) on an input made
 *     of the fuzz bytes, when its tensors are small enough to stay fast:
 *     every model the loader lets through must be safe to execute.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frozen_io.h"
#include "fuzzfile.h"
#include "q8_exec.h"

/* Largest tensor executed (elements), so that one input stays well under a millisecond-ish. */
#define FUZZ_EXEC_MAX_ELEMS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    abort();
}

/* The whole file at path into a malloc'd buffer (*n bytes). */
static uint8_t *fuzz_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fuzz_fail("cannot reopen", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        fuzz_fail("cannot reread", path);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static void fuzz_round_trip(const q_model *m)
{
    qerr e = {{0}};
    char out1[512], out2[512];
    snprintf(out1, sizeof out1, "%s/w1.yaml", fuzzfile_dir("frozen"));
    snprintf(out2, sizeof out2, "%s/w2.yaml", fuzzfile_dir("frozen"));
    if (frozen_write(out1, m, &e))
        fuzz_fail("accepted model cannot be written", e.msg);
    q_model back;
    if (frozen_read(out1, &back, &e))
        fuzz_fail("written model cannot be read back", e.msg);
    if (frozen_write(out2, &back, &e))
        fuzz_fail("read-back model cannot be written", e.msg);
    q_model_free(&back);
    size_t n1, n2;
    uint8_t *b1 = fuzz_slurp(out1, &n1), *b2 = fuzz_slurp(out2, &n2);
    if (n1 != n2 || memcmp(b1, b2, n1) != 0)
        fuzz_fail("write, read, write gives different bytes", NULL);
    free(b1);
    free(b2);
}

static void fuzz_execute(const q_model *m, const uint8_t *data, size_t size)
{
    for (int t = 0; t <= m->n_layers; t++)
        if (q_shape_size(q_model_tensor_shape(m, t)) > FUZZ_EXEC_MAX_ELEMS)
            return;
    qerr e = {{0}};
    q8_exec *x = q8_exec_new(m, &e);
    if (!x) {
        /* Allowed (out of memory, unrepresentable multiplier), but must say so in one line. */
        fuzzfile_check_message(e.msg, "");
        return;
    }
    int32_t n_in = q_shape_size(m->in_shape);
    int32_t n_out = q_shape_size(q_model_tensor_shape(m, m->n_layers));
    int8_t *in = malloc((size_t)n_in), *out = malloc((size_t)n_out);
    if (!in || !out)
        fuzz_fail("out of memory", NULL);
    for (int32_t i = 0; i < n_in; i++)
        in[i] = (int8_t)(size ? data[(size_t)i % size] : 0);
    q8_exec_run(x, in, out);
    free(in);
    free(out);
    q8_exec_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzzfile_write("frozen", 0, "fuzz.frozen.yaml", data, size);
    q_model m;
    qerr e = {{0}};
    memset(&m, 0xa5, sizeof m);
    if (frozen_read(path, &m, &e) != 0) {
        fuzzfile_check_message(e.msg, path);
        if (m.layers || m.n_layers)
            fuzz_fail("a rejected model is not left zeroed", e.msg);
        return 0;
    }
    if (m.n_layers < 1 || !m.layers)
        fuzz_fail("accepted model without layers", NULL);
    fuzz_round_trip(&m);
    fuzz_execute(&m, data, size);
    q_model_free(&m);
    return 0;
}
