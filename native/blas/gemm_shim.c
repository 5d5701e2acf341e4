/*
 * libmlx from the mlx-cpu wheel calls exactly three BLAS functions (cblas_sgemm, cblas_dgemm,
 * cblas_cgemm; checked with `nm -D --undefined-only libmlx.so`), from the reference BLAS it
 * bundles. This library defines those three and forwards them to OpenBLAS from the
 * scipy-openblas32 wheel, whose symbols carry a `scipy_` prefix. Loaded ahead of libmlx (the addon
 * links it first; LD_PRELOAD for other programs), it makes libmlx's GEMMs run on OpenBLAS.
 */
#include <stdint.h>

typedef int blasint; /* scipy-openblas32: 32-bit integers (LP64) */
#define EXPORT __attribute__((visibility("default")))

/* CBLAS enums are plain ints across implementations. */
void scipy_cblas_sgemm(int order, int ta, int tb, blasint m, blasint n, blasint k, float alpha,
                       const float *a, blasint lda, const float *b, blasint ldb, float beta,
                       float *c, blasint ldc);
void scipy_cblas_dgemm(int order, int ta, int tb, blasint m, blasint n, blasint k, double alpha,
                       const double *a, blasint lda, const double *b, blasint ldb, double beta,
                       double *c, blasint ldc);
void scipy_cblas_cgemm(int order, int ta, int tb, blasint m, blasint n, blasint k,
                       const void *alpha, const void *a, blasint lda, const void *b, blasint ldb,
                       const void *beta, void *c, blasint ldc);
char *scipy_openblas_get_config(void);

EXPORT void cblas_sgemm(int order, int ta, int tb, blasint m, blasint n, blasint k, float alpha,
                        const float *a, blasint lda, const float *b, blasint ldb, float beta,
                        float *c, blasint ldc) {
  scipy_cblas_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

EXPORT void cblas_dgemm(int order, int ta, int tb, blasint m, blasint n, blasint k, double alpha,
                        const double *a, blasint lda, const double *b, blasint ldb, double beta,
                        double *c, blasint ldc) {
  scipy_cblas_dgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

EXPORT void cblas_cgemm(int order, int ta, int tb, blasint m, blasint n, blasint k,
                        const void *alpha, const void *a, blasint lda, const void *b, blasint ldb,
                        const void *beta, void *c, blasint ldc) {
  scipy_cblas_cgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Lets mlux report which BLAS is serving GEMMs. */
EXPORT const char *mlux_gemm_backend(void) { return scipy_openblas_get_config(); }
