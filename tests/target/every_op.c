/* every_op — writes the reference "every op" model of the target checks and
 * a few images that fit its input.
 *
 *   every_op SEED MODEL.frozen.yaml IMAGES.idx N [breadth]
 *
 * The model is random_model with every_op set (conv2d, dwconv2d, linear,
 * max and average pool, global average pool, add, flatten, every fused
 * activation, per-channel and per-tensor weights), named "every_op"; the same
 * seed gives the same model. With `breadth` it also draws the forms of format
 * version 2 (random_model's breadth: dilation, per-side padding, channel
 * multipliers, padded pools, TFLite's average pool, softmax) and is named
 * "every_form". IMAGES.idx holds N random uint8 images of the
 * model's input shape (IDX: (N, H, W) when C = 1, else (N, H, W, C)). Both
 * files are written atomically. Exit status 0, or 1 with one line on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frozen_io.h"
#include "qfile.h"
#include "random_model.h"
#include "rng.h"

static void put_be32(FILE *f, uint32_t v)
{
    fputc((int)(v >> 24), f);
    fputc((int)(v >> 16 & 0xff), f);
    fputc((int)(v >> 8 & 0xff), f);
    fputc((int)(v & 0xff), f);
}

/* Writes n random images of shape s to path. Returns 0, or -1 with e set. */
static int write_images(const char *path, q_shape s, int32_t n, rng_state *r, qerr *e)
{
    qfile q;
    if (qfile_begin(&q, path, e) < 0)
        return -1;
    put_be32(q.f, s.c == 1 ? 0x00000803u : 0x00000804u);
    put_be32(q.f, (uint32_t)n);
    put_be32(q.f, (uint32_t)s.h);
    put_be32(q.f, (uint32_t)s.w);
    if (s.c != 1)
        put_be32(q.f, (uint32_t)s.c);
    for (int64_t i = 0; i < (int64_t)n * q_shape_size(s); i++)
        fputc((int)rng_below(r, 256), q.f);
    return qfile_commit(&q, e);
}

int main(int argc, char **argv)
{
    if (argc != 5 && !(argc == 6 && !strcmp(argv[5], "breadth"))) {
        fprintf(stderr, "usage: every_op SEED MODEL.frozen.yaml IMAGES.idx N [breadth]\n");
        return 1;
    }
    uint64_t seed = strtoull(argv[1], NULL, 0);
    int32_t n = (int32_t)atoi(argv[4]);
    if (n < 1) {
        fprintf(stderr, "every_op: N must be at least 1\n");
        return 1;
    }
    rng_state r;
    rng_seed(&r, seed);
    random_model_opts o;
    random_model_default_opts(&o);
    o.every_op = 1;
    o.breadth = argc == 6;
    q_model m;
    qerr e;
    if (random_model(&r, &o, &m) < 0) {
        fprintf(stderr, "every_op: random_model failed for seed %s\n", argv[1]);
        return 1;
    }
    snprintf(m.name, sizeof m.name, "%s", o.breadth ? "every_form" : "every_op");
    int status = 0;
    if (frozen_write(argv[2], &m, &e) < 0 || write_images(argv[3], m.in_shape, n, &r, &e) < 0) {
        fprintf(stderr, "every_op: %s\n", e.msg);
        status = 1;
    }
    q_model_free(&m);
    return status;
}
