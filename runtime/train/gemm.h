/* gemm — single-precision matrix multiply for the training layers, and the
 * thread count of every parallel loop in the trainer.
 *
 * Two implementations of one contract:
 *   gemm_f32           CBLAS (OpenBLAS) when built with QATC_HAVE_CBLAS (the
 *                     Makefile defines it when cblas.h and -lopenblas link),
 *                     else the portable one.
 *   gemm_f32_portable  blocked C, always built, OpenMP-parallel over tiles of C.
 *
 * Threads. One pool only: OpenMP's. OpenBLAS (Debian's pthread build) would
 * start its own pool, and two pools that spin-wait on 2 cores fight each
 * other, so OpenBLAS is set to 1 thread once (openblas_set_num_threads(1))
 * and gemm_f32 cuts C into slices (by rows or columns, whichever is longer; up
 * to 8, their number a function of the shape alone) that the OpenMP threads
 * share, each slice one single-threaded cblas_sgemm call. Called inside an
 * OpenMP parallel region, gemm_f32 runs on the calling thread.
 *
 * OpenBLAS kernels. OpenBLAS chooses its kernels from the CPU model when it
 * loads; a CPU newer than the library (Debian 12's 0.3.21 on Emerald Rapids,
 * say) gets the generic SSE3 "Prescott" kernels, 2x slower here. When that
 * happened and OPENBLAS_CORETYPE is not set, the first gemm_f32 call selects
 * the core from the CPU's features (AVX-512 F/BW/VL/DQ: SkylakeX, AVX2+FMA:
 * Haswell)
 * through OpenBLAS's own gotoblas_dynamic_init. gemm_backend() says which.
 *
 * Determinism. Neither path lets the thread count change the arithmetic:
 * gemm_f32_portable sums every C element over k in the same order whatever the
 * tiling, and the CBLAS slices do not depend on the thread count. Results are
 * bit-identical for any thread count (tested), and for a given backend and
 * OpenBLAS core, run to run. The two paths differ from each other in the last
 * bits (float reassociation), and so may two machines: OpenBLAS cores differ,
 * and the portable code runs an AVX-512, AVX2 or baseline clone (GCC
 * target_clones, picked at load) whose FMAs round once where baseline rounds
 * twice.
 */
#ifndef QATC_GEMM_H
#define QATC_GEMM_H

/* C = alpha · op(A) · op(B) + beta · C, all row-major.
 * op(A) is (M, K): A is (M, K) with lda >= K, or, with trans_a, (K, M) with
 * lda >= M. op(B) is (K, N): B is (K, N) with ldb >= N, or, with trans_b,
 * (N, K) with ldb >= K. C (M, N) with ldc >= N. When beta == 0, C is not read
 * (it may hold NaN). M, N, K >= 0; with K == 0, C = beta · C. C must not
 * overlap A or B. */
void gemm_f32(int trans_a, int trans_b, int m, int n, int k, float alpha,
             const float *a, int lda, const float *b, int ldb, float beta,
             float *c, int ldc);

/* The same contract, always the portable blocked C code. */
void gemm_f32_portable(int trans_a, int trans_b, int m, int n, int k, float alpha,
                      const float *a, int lda, const float *b, int ldb, float beta,
                      float *c, int ldc);

/* 1 when gemm_f32 goes to CBLAS, 0 when it is the portable code. */
int gemm_has_blas(void);

/* What gemm_f32 runs on, for logs: "OpenBLAS <core>" or "portable". */
const char *gemm_backend(void);

/* Sets the number of OpenMP threads for every parallel loop (layers, gemm);
 * n <= 0 means the number of processors. Returns the count now in effect. */
int gemm_set_threads(int n);

/* How long idle OpenMP threads spin before they sleep. libgomp's default
 * (GOMP_SPINCOUNT 300000 PAUSEs, milliseconds on recent Intel CPUs, where a
 * PAUSE takes ~140 cycles) is ruinous when the cores are shared: a spinning
 * thread holds a core that the thread with the work needs. On this 2-core VM,
 * with other jobs running (load 8), 2 threads trained at 100-200 images/s with
 * the default and 1000-2500 with GOMP_SPINCOUNT=1000 (bench/bench_layers.c;
 * `qatc train` float phase: 116-189 against 858-1281). libgomp reads the
 * variable only when the program loads, so:
 * if neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, this sets
 * GOMP_SPINCOUNT=1000 and re-executes the program (/proc/self/exe, same argv);
 * call it first thing in main(), before any thread or file exists. Under a
 * tool that runs the program (valgrind: /proc/self/exe is then the tool) it
 * does nothing, so qatc runs under valgrind as it is. Returns
 * 0 when nothing had to be done (or in the re-executed program), -1 when the
 * re-execution failed (the program then goes on with libgomp's default; the
 * environment is left as it was).
 * This is qatc's only re-execution. The other setting read at load time, the
 * OpenBLAS kernel set, needs none: the first gemm_f32 call corrects a
 * "Prescott" fallback in process (above), which trains the same model, byte
 * for byte, as OPENBLAS_CORETYPE set before the start. */
int gemm_spin_setup(char **argv);

#endif
