/* mkdata.c — the anomaly-detection data set of this example, from
 * Fashion-MNIST: one class is "normal", the nine others are anomalies.
 *
 * Usage: mkdata FMNIST_DIR OUT_DIR [NORMAL_CLASS]   (NORMAL_CLASS 0..9, default 0)
 *
 * Reads FMNIST_DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz and
 * writes into OUT_DIR, every image as a vector of 784 pixels (uint8, row
 * after row), so that a dense model reads it as 1 x 1 x 784:
 *
 *   train_x.npy (N, 784) u1      the normal images among training images 0..53999
 *                                (about 5400): what the autoencoder learns
 *   val_x.npy   (6000, 784) u1   training images 54000..59999, every class,
 *   val_y.npy   (6000,) u1       labels 1 = anomaly (not the normal class), 0 = normal:
 *                                they choose the kept model (metric auc)
 *   test_x.npy  (10000, 784) u1  the test set, reported only
 *   test_y.npy  (10000,) u1
 *
 * The training set holds no anomaly and no validation image.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PIXELS 784

/* The payload of an IDX file (gzip'd or not) after its header: count items of
 * item_size bytes. Exits with a message on any mismatch. */
static unsigned char *read_idx(const char *path, int dims, long count, long item_size)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mkdata: cannot open %s\n", path);
        exit(1);
    }
    unsigned char head[16];
    int hlen = 4 + 4 * dims;
    if (gzread(f, head, (unsigned)hlen) != hlen || head[2] != 0x08 || head[3] != dims) {
        fprintf(stderr, "mkdata: %s: not an IDX file of uint8 with %d dimensions\n", path, dims);
        exit(1);
    }
    long n = (long)head[4] << 24 | (long)head[5] << 16 | (long)head[6] << 8 | (long)head[7];
    if (n != count) {
        fprintf(stderr, "mkdata: %s: %ld items, expected %ld\n", path, n, count);
        exit(1);
    }
    size_t bytes = (size_t)count * (size_t)item_size;
    unsigned char *p = malloc(bytes);
    if (!p || gzread(f, p, (unsigned)bytes) != (int)bytes) {
        fprintf(stderr, "mkdata: %s: short file\n", path);
        exit(1);
    }
    gzclose(f);
    return p;
}

/* A NumPy .npy file, format 1.0, of uint8 (little-endian has no meaning for
 * bytes): the header dict padded with spaces to a multiple of 64 bytes, then
 * the data in C order. shape as NumPy prints it, e.g. "(6000, 784)". */
static void save_u1(const char *dir, const char *name, const char *shape, const unsigned char *data,
                    size_t bytes)
{
    char path[1024], dict[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int n = snprintf(dict, sizeof dict, "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }",
                     shape);
    int pad = (64 - (10 + n + 1) % 64) % 64;
    unsigned hlen = (unsigned)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 255), (unsigned char)(hlen >> 8)};
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
    for (int i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, 1, bytes, f) == bytes;
    if (f && fclose(f))
        ok = 0;
    if (!ok) {
        fprintf(stderr, "mkdata: cannot write %s\n", path);
        exit(1);
    }
}

/* Images first..first+n-1 with (all) or without (normal only) the others:
 * writes PREFIX_x.npy and, with labels, PREFIX_y.npy (1 = anomaly). */
static long write_set(const char *dir, const char *prefix, const unsigned char *img,
                      const unsigned char *lbl, long first, long n, int normal, int only_normal)
{
    unsigned char *x = malloc((size_t)n * PIXELS), *y = malloc((size_t)n);
    long k = 0, anomalies = 0;
    if (!x || !y) {
        fprintf(stderr, "mkdata: out of memory\n");
        exit(1);
    }
    for (long i = first; i < first + n; i++) {
        if (only_normal && lbl[i] != normal)
            continue;
        memcpy(x + k * PIXELS, img + i * PIXELS, PIXELS);
        y[k] = lbl[i] != normal;
        anomalies += y[k];
        k++;
    }
    char name[64], shape[64];
    snprintf(name, sizeof name, "%s_x.npy", prefix);
    snprintf(shape, sizeof shape, "(%ld, %d)", k, PIXELS);
    save_u1(dir, name, shape, x, (size_t)k * PIXELS);
    if (!only_normal) {
        snprintf(name, sizeof name, "%s_y.npy", prefix);
        snprintf(shape, sizeof shape, "(%ld,)", k);
        save_u1(dir, name, shape, y, (size_t)k);
    }
    printf("mkdata: %s/%s: %ld images, %ld normal (class %d), %ld anomalies\n", dir, prefix, k,
           k - anomalies, normal, anomalies);
    free(x);
    free(y);
    return k;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: mkdata FMNIST_DIR OUT_DIR [NORMAL_CLASS]\n");
        return 2;
    }
    int normal = argc == 4 ? atoi(argv[3]) : 0;
    if (normal < 0 || normal > 9) {
        fprintf(stderr, "mkdata: NORMAL_CLASS must be 0..9\n");
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", argv[1]);
    unsigned char *img = read_idx(path, 3, 60000, PIXELS);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", argv[1]);
    unsigned char *lbl = read_idx(path, 1, 60000, 1);
    write_set(argv[2], "train", img, lbl, 0, 54000, normal, 1);
    write_set(argv[2], "val", img, lbl, 54000, 6000, normal, 0);
    free(img);
    free(lbl);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", argv[1]);
    img = read_idx(path, 3, 10000, PIXELS);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", argv[1]);
    lbl = read_idx(path, 1, 10000, 1);
    write_set(argv[2], "test", img, lbl, 0, 10000, normal, 0);
    free(img);
    free(lbl);
    return 0;
}
