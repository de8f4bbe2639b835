#include "gemm.h"

#include <assert.h>
#include <omp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "simd.h"

#ifdef QATC_HAVE_CBLAS
#include <cblas.h>
#include <strings.h>
/* OpenBLAS's own; declared here too in case cblas.h is another vendor's. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
/* Exported by OpenBLAS built with DYNAMIC_ARCH (Debian's); weak so that a
 * build without them still links. */
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));
#endif

/* ---- portable blocked GEMM --------------------------------------------------
 * C is cut into tiles (mc, nc) that OpenMP threads take; each tile walks K in
 * blocks of KC, packing op(A) into row panels of MR rows and op(B) into column
 * panels of NR columns (zero-padded at the edges), and a register micro-kernel
 * computes MR x NR of C at a time with k ascending. The first K block applies
 * beta, later ones add. The tile size changes nothing in the arithmetic of an
 * element, so results do not depend on the thread count. */

#define MR 4
#define NR 16
#define MC 64   /* multiple of MR */
#define NC 256  /* multiple of NR */
#define KC 256

/* The tile loop is compiled for AVX-512, AVX2+FMA and baseline x86-64 and
 * picked when the program loads (SIMD_CLONES, simd.h); the packing and the
 * micro-kernel inline into each clone (SIMD_INLINE). Only the instruction set changes: the
 * order of the arithmetic is that of the C code in every clone, except that
 * with FMA a·b + c may round once instead of twice, so clones may differ in
 * the last bits (a machine always runs the same clone). */

/* Per-thread packing buffers (no allocation in the training loop). */
static _Thread_local float pack_a[MC * KC]; /* (MC/MR panels, KC, MR) */
static _Thread_local float pack_b[KC * NC]; /* (NC/NR panels, KC, NR) */

/* pack_a[p][kk][r] = op(A)(i0 + p*MR + r, k0 + kk), 0 past the edge, where
 * op(A)(i, k) = ta ? a[k*lda + i] : a[i*lda + k]. */
static SIMD_INLINE void pack_block_a(const float *a, int lda, int ta, int i0, int mc, int k0,
                                     int kc)
{
    for (int p = 0; p < (mc + MR - 1) / MR; p++) {
        float *dst = pack_a + (size_t)p * kc * MR;
        for (int r = 0; r < MR; r++) {
            int i = p * MR + r;
            if (i >= mc)
                for (int kk = 0; kk < kc; kk++)
                    dst[kk * MR + r] = 0.0f;
            else if (ta)
                for (int kk = 0; kk < kc; kk++)
                    dst[kk * MR + r] = a[(size_t)(k0 + kk) * lda + i0 + i];
            else
                for (int kk = 0; kk < kc; kk++)
                    dst[kk * MR + r] = a[(size_t)(i0 + i) * lda + k0 + kk];
        }
    }
}

/* pack_b[p][kk][q] = op(B)(k0 + kk, j0 + p*NR + q), 0 past the edge, where
 * op(B)(k, j) = tb ? b[j*ldb + k] : b[k*ldb + j]. */
static SIMD_INLINE void pack_block_b(const float *b, int ldb, int tb, int j0, int nc, int k0,
                                     int kc)
{
    for (int p = 0; p < (nc + NR - 1) / NR; p++) {
        float *dst = pack_b + (size_t)p * kc * NR;
        int nq = nc - p * NR < NR ? nc - p * NR : NR;
        for (int kk = 0; kk < kc; kk++) {
            float *d = dst + kk * NR;
            if (tb)
                for (int q = 0; q < nq; q++)
                    d[q] = b[(size_t)(j0 + p * NR + q) * ldb + k0 + kk];
            else
                for (int q = 0; q < nq; q++)
                    d[q] = b[(size_t)(k0 + kk) * ldb + j0 + p * NR + q];
            for (int q = nq; q < NR; q++)
                d[q] = 0.0f;
        }
    }
}

/* The (mv, nv) corner of an MR x NR block of C at c:
 *   C = alpha · Σ_kk ap[kk][r] · bp[kk][q] + bt · C   (k ascending; C not read
 * when bt == 0). With GCC/clang the MR accumulator rows are vector variables
 * (vector_size: one zmm, two ymm or four xmm each, by clone), which keeps them
 * in registers; other compilers get the same sums from plain arrays. */
#if defined(__GNUC__)
typedef float gemm_row __attribute__((vector_size(NR * sizeof(float))));
#endif

static SIMD_INLINE void micro_tile(float *c, int ldc, int mv, int nv, const float *ap,
                                   const float *bp, int kc, float alpha, float bt)
{
    float acc[MR][NR];
#if defined(__GNUC__) && MR == 4
    gemm_row r0 = {0}, r1 = {0}, r2 = {0}, r3 = {0};
    for (int kk = 0; kk < kc; kk++) {
        const float *av = ap + kk * MR;
        gemm_row bv;
        memcpy(&bv, bp + kk * NR, sizeof bv);
        r0 += av[0] * bv;
        r1 += av[1] * bv;
        r2 += av[2] * bv;
        r3 += av[3] * bv;
    }
    memcpy(acc[0], &r0, sizeof r0);
    memcpy(acc[1], &r1, sizeof r1);
    memcpy(acc[2], &r2, sizeof r2);
    memcpy(acc[3], &r3, sizeof r3);
#else
    for (int r = 0; r < MR; r++)
        for (int q = 0; q < NR; q++)
            acc[r][q] = 0.0f;
    for (int kk = 0; kk < kc; kk++)
        for (int r = 0; r < MR; r++)
            for (int q = 0; q < NR; q++)
                acc[r][q] += ap[kk * MR + r] * bp[kk * NR + q];
#endif
    for (int r = 0; r < mv; r++) {
        float *crow = c + (size_t)r * ldc;
        if (bt == 0.0f)
            for (int q = 0; q < nv; q++)
                crow[q] = alpha * acc[r][q];
        else
            for (int q = 0; q < nv; q++)
                crow[q] = alpha * acc[r][q] + bt * crow[q];
    }
}

/* C tile (mc, nc) at (i0, j0) += / = alpha · op(A) · op(B) over all of K. */
SIMD_CLONES
static void gemm_tile(int ta, int tb, int i0, int mc, int j0, int nc, int k, float alpha,
                      const float *a, int lda, const float *b, int ldb, float beta,
                      float *c, int ldc)
{
    for (int k0 = 0; k0 < k; k0 += KC) {
        int kc = k - k0 < KC ? k - k0 : KC;
        float bt = k0 == 0 ? beta : 1.0f;
        pack_block_a(a, lda, ta, i0, mc, k0, kc);
        pack_block_b(b, ldb, tb, j0, nc, k0, kc);
        for (int pi = 0; pi * MR < mc; pi++) {
            int mv = mc - pi * MR < MR ? mc - pi * MR : MR;
            for (int pj = 0; pj * NR < nc; pj++) {
                int nv = nc - pj * NR < NR ? nc - pj * NR : NR;
                micro_tile(c + (size_t)(i0 + pi * MR) * ldc + j0 + pj * NR, ldc, mv, nv,
                           pack_a + (size_t)pi * kc * MR, pack_b + (size_t)pj * kc * NR, kc,
                           alpha, bt);
            }
        }
    }
}

void gemm_f32_portable(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float *a, int lda, const float *b, int ldb, float beta,
                       float *c, int ldc)
{
    assert(m >= 0 && n >= 0 && k >= 0);
    assert(ldc >= n && lda >= (trans_a ? m : k) && ldb >= (trans_b ? k : n));
    if (m == 0 || n == 0)
        return;
    if (k == 0) { /* C = beta · C, C not read when beta == 0 */
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    /* Shrink tiles until there are a few per thread (only the split of the
     * work changes, not the arithmetic). */
    int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    int mc = MC, nc = NC;
    for (;;) {
        long tiles = (long)((m + mc - 1) / mc) * ((n + nc - 1) / nc);
        if (tiles >= 4L * threads)
            break;
        if (mc > MR)
            mc = (mc / 2 + MR - 1) / MR * MR;
        else if (nc > NR)
            nc = (nc / 2 + NR - 1) / NR * NR;
        else
            break;
    }
    int tiles_m = (m + mc - 1) / mc, tiles_n = (n + nc - 1) / nc;
    long work = (long)m * n * k;
#pragma omp parallel for schedule(dynamic) if (threads > 1 && work > 32768)
    for (long t = 0; t < (long)tiles_m * tiles_n; t++) {
        int i0 = (int)(t / tiles_n) * mc, j0 = (int)(t % tiles_n) * nc;
        int mt = m - i0 < mc ? m - i0 : mc, nt = n - j0 < nc ? n - j0 : nc;
        gemm_tile(trans_a, trans_b, i0, mt, j0, nt, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}

/* ---- CBLAS ------------------------------------------------------------------ */

#ifdef QATC_HAVE_CBLAS
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* OpenBLAS picks its kernels from the CPU model when it loads. A model newer
 * than the library (Debian 12's 0.3.21 does not know e.g. Emerald Rapids,
 * family 6 model 207) gets the generic "Prescott" SSE3 kernels, at half the
 * speed or less. If that happened and the user did not choose a core
 * (OPENBLAS_CORETYPE), choose one from the CPU's features the way newer
 * OpenBLAS releases do, and re-run OpenBLAS's own core selection. */
static void blas_fix_core(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (getenv("OPENBLAS_CORETYPE") || !gotoblas_dynamic_init || !gotoblas_dynamic_quit)
        return;
    const char *name = openblas_get_corename();
    if (!name || strcasecmp(name, "prescott") != 0)
        return;
    __builtin_cpu_init();
    const char *core = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        core = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        core = "Haswell";
    if (!core)
        return;
    /* OpenBLAS reads the variable only inside gotoblas_dynamic_init */
    setenv("OPENBLAS_CORETYPE", core, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
#endif
}

#define SLICES_MAX 8
#define SLICE_MIN 32

static char backend_name[64];

static void blas_setup(void)
{
    blas_fix_core();
    openblas_set_num_threads(1);
    const char *core = openblas_get_corename();
    snprintf(backend_name, sizeof backend_name, "OpenBLAS %s", core ? core : "?");
}

static void blas_call(int ta, int tb, int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
#endif

void gemm_f32(int trans_a, int trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta,
              float *c, int ldc)
{
#ifdef QATC_HAVE_CBLAS
    assert(m >= 0 && n >= 0 && k >= 0);
    if (m == 0 || n == 0)
        return;
    if (k == 0) { /* some CBLAS builds reject k == 0 with lda < 1 */
        gemm_f32_portable(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    pthread_once(&blas_once, blas_setup);
    /* C is cut along its longer side into slices whose number depends on the
     * shape only (up to SLICES_MAX, at least SLICE_MIN rows or columns each);
     * OpenMP threads share them out. Every slice is the same cblas_sgemm call
     * whatever the thread count, so the result is too. */
    int by_rows = m >= n;
    int len = by_rows ? m : n;
    long work = (long)m * n * k;
    int slices = work < 65536 ? 1 : len / SLICE_MIN;
    slices = slices < 1 ? 1 : slices > SLICES_MAX ? SLICES_MAX : slices;
#pragma omp parallel for schedule(static) if (slices > 1 && !omp_in_parallel())
    for (int sl = 0; sl < slices; sl++) {
        int s0 = (int)((long)len * sl / slices), s1 = (int)((long)len * (sl + 1) / slices);
        if (by_rows) {
            const float *as = trans_a ? a + s0 : a + (size_t)s0 * lda;
            blas_call(trans_a, trans_b, s1 - s0, n, k, alpha, as, lda, b, ldb, beta,
                      c + (size_t)s0 * ldc, ldc);
        } else {
            const float *bs = trans_b ? b + (size_t)s0 * ldb : b + s0;
            blas_call(trans_a, trans_b, m, s1 - s0, k, alpha, a, lda, bs, ldb, beta,
                      c + s0, ldc);
        }
    }
#else
    gemm_f32_portable(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

const char *gemm_backend(void)
{
#ifdef QATC_HAVE_CBLAS
    pthread_once(&blas_once, blas_setup);
    return backend_name;
#else
    return "portable";
#endif
}

int gemm_has_blas(void)
{
#ifdef QATC_HAVE_CBLAS
    return 1;
#else
    return 0;
#endif
}

int gemm_set_threads(int n)
{
    omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
#ifdef QATC_HAVE_CBLAS
    pthread_once(&blas_once, blas_setup);
#endif
    return omp_get_max_threads();
}

/* Whether this process is the program of argv itself, not a tool that runs
 * it: under valgrind, /proc/self/exe is valgrind's tool (memcheck-amd64-linux),
 * which refuses to be executed directly, and the re-executed program would
 * run outside valgrind anyway (it does not trace children by default). */
static int spin_is_self(char **argv)
{
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) /* valgrind's preloaded core */
        return 0;
    struct stat self, prog;
    if (argv[0] && strchr(argv[0], '/') && stat(argv[0], &prog) == 0 &&
        stat("/proc/self/exe", &self) == 0 &&
        (self.st_dev != prog.st_dev || self.st_ino != prog.st_ino))
        return 0; /* the running image is not argv[0]'s file */
    return 1;
}

int gemm_spin_setup(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return 0;
    if (!spin_is_self(argv))
        return 0; /* libgomp's default spinning: slower on shared cores, nothing else */
    if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0)
        return -1;
    execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT"); /* execv returned: it failed */
    return -1;
}
