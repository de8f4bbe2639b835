/* libFuzzer target: cfg_read on arbitrary bytes.
 *
 * The input is the config file (DIR/fuzz.yaml); DIR also holds img.idx and
 * lbl.idx so that the seeds' data paths resolve. Checks: no crash, leak or
 * undefined behaviour (sanitizers); a rejection is one line naming the file;
 * an accepted config has consistent layer shapes, batches of at least 2, an
 * input scale the frozen model takes and a name that is no C library header.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        /* 2 images of 4x4, 2 labels: enough for data paths to be readable. */
        static const uint8_t img[16 + 32] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4};
        static const uint8_t lbl[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 0, 1};
        fuzzfile_write("config", 1, "img.idx", img, sizeof img);
        fuzzfile_write("config", 2, "lbl.idx", lbl, sizeof lbl);
        /* and the same as .npy inputs and labels, for the data keys' seeds */
        static const char head[] = "\223NUMPY\001\000\166\000{'descr': '|u1', "
                                   "'fortran_order': False, 'shape': (2, 4, 4), }";
        static uint8_t npy[128 + 32]; /* the header padded to 128 bytes, 32 pixels */
        memcpy(npy, head, sizeof head - 1);
        memset(npy + sizeof head - 1, ' ', 127 - (sizeof head - 1));
        npy[127] = '\n';
        fuzzfile_write("config", 3, "x.npy", npy, sizeof npy);
        fuzzfile_write("config", 3, "y.npy", npy, sizeof npy);
        ready = 1;
    }
    const char *path = fuzzfile_write("config", 0, "fuzz.yaml", data, size);

    static cfg_config c; /* large: not on the stack */
    qerr e = {{0}};
    if (cfg_read(path, &c, &e) != 0) {
        fuzzfile_check_message(e.msg, path);
        return 0;
    }
    q_shape shapes[CFG_MAX_LAYERS + 1];
    if (c.n_layers < 1 || c.n_layers > CFG_MAX_LAYERS || cfg_shapes(&c, shapes, &e) != 0) {
        fprintf(stderr, "fuzz: accepted config with a bad layer stack: %d layers, %s\n",
                c.n_layers, e.msg);
        abort();
    }
    int32_t k = cfg_classes(&c);
    if (c.loss == CFG_LOSS_CROSS_ENTROPY && (k < 2 || k > 256)) { /* a classifier's */
        fprintf(stderr, "fuzz: accepted config with %d classes\n", (int)k);
        abort();
    }
    /* the values that would fail only later are refused when read */
    if (c.pretrain.batch < 2 || c.qat.batch < 2 || !(c.input_q.scale >= Q_SCALE_MIN) ||
        q_is_std_header_name(c.name)) {
        fprintf(stderr, "fuzz: accepted batches %d/%d, input scale %g, name '%s'\n",
                (int)c.pretrain.batch, (int)c.qat.batch, c.input_q.scale, c.name);
        abort();
    }
    /* the data keys within their documented ranges */
    q_shape in = c.input_shape;
    int32_t sh = c.augment.shift;
    if ((c.validation == CFG_VALIDATION_FRACTION &&
         !(c.validation_fraction > 0 && c.validation_fraction < 1)) ||
        sh < 0 || (sh > 0 && ((in.h > 1 && sh >= in.h) || (in.w > 1 && sh >= in.w) ||
                              (in.h == 1 && in.w == 1))) ||
        (c.augment.flip && in.w == 1)) {
        fprintf(stderr, "fuzz: accepted validation fraction %g, augment shift %d flip %d "
                        "for an input of %dx%d\n",
                c.validation_fraction, (int)sh, c.augment.flip, (int)in.h, (int)in.w);
        abort();
    }
    return 0;
}
