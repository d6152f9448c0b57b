// Register-tiled matrix products for the many small products of fused attention (tens to a few hundred
// rows, columns and depth), where OpenBLAS's per-call packing and thread checks cost about as much as
// the arithmetic (measured: 80 x 80 x 32 products at ~27 GFLOP/s through cblas_sgemm). Included by
// kernels.cc. Written with GCC vector extensions (8 floats), so it compiles to AVX2 FMAs with
// -march=native and to narrower vectors elsewhere.
//
//   small_mm(M, N, K, alpha, A, sam, sak, B, ldb, acc, C, ldc)
//     C[m, n] = alpha * sum_k A(m, k) B[k * ldb + n]  (+ C[m, n] when acc),  m < M, n < N,
//     A(m, k) = A[m * sam + k * sak]: row-major A is (lda, 1), a transposed one (1, lda).
//     B must be unit-stride along n; C is row-major with leading dimension ldc.
// Callers pack strided operands first (transpose_into, copy_rows): rows 32 KB apart, as attention's
// per-head slices of [T, batch*heads, dh] are, cost a TLB miss per row.
#pragma once

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));  // unaligned loads and stores

static inline v8 load8(const float* p) { return *reinterpret_cast<const v8u*>(p); }
static inline void store8(float* p, v8 v) { *reinterpret_cast<v8u*>(p) = v; }

// R rows x 8V columns of C, accumulated in registers over the whole depth K.
template <int R, int V>
static inline void mm_tile(int K, float alpha, const float* A, ptrdiff_t sam, ptrdiff_t sak, const float* B, ptrdiff_t ldb,
                           bool acc, float* C, ptrdiff_t ldc) {
  v8 c[R][V];
  for (int r = 0; r < R; r++)
    for (int u = 0; u < V; u++) c[r][u] = v8{};
  for (int k = 0; k < K; k++) {
    v8 b[V];
    for (int u = 0; u < V; u++) b[u] = load8(B + (ptrdiff_t)k * ldb + 8 * u);
    for (int r = 0; r < R; r++) {
      const float a = A[r * sam + (ptrdiff_t)k * sak];
      for (int u = 0; u < V; u++) c[r][u] += a * b[u];
    }
  }
  for (int r = 0; r < R; r++)
    for (int u = 0; u < V; u++) {
      float* cp = C + r * ldc + 8 * u;
      v8 o = c[r][u] * alpha;
      if (acc) o += load8(cp);
      store8(cp, o);
    }
}

template <int V>
static inline void mm_rows(int R, int K, float alpha, const float* A, ptrdiff_t sam, ptrdiff_t sak, const float* B, ptrdiff_t ldb,
                           bool acc, float* C, ptrdiff_t ldc) {
  switch (R) {
    case 4: return mm_tile<4, V>(K, alpha, A, sam, sak, B, ldb, acc, C, ldc);
    case 3: return mm_tile<3, V>(K, alpha, A, sam, sak, B, ldb, acc, C, ldc);
    case 2: return mm_tile<2, V>(K, alpha, A, sam, sak, B, ldb, acc, C, ldc);
    default: return mm_tile<1, V>(K, alpha, A, sam, sak, B, ldb, acc, C, ldc);
  }
}

static void small_mm(int M, int N, int K, float alpha, const float* A, ptrdiff_t sam, ptrdiff_t sak, const float* B, ptrdiff_t ldb,
                     bool acc, float* C, ptrdiff_t ldc) {
  for (int m0 = 0; m0 < M; m0 += 4) {
    const int R = std::min(4, M - m0);
    const float* Am = A + m0 * sam;
    float* Cm = C + m0 * ldc;
    int n0 = 0;
    for (; n0 + 16 <= N; n0 += 16) mm_rows<2>(R, K, alpha, Am, sam, sak, B + n0, ldb, acc, Cm + n0, ldc);
    for (; n0 + 8 <= N; n0 += 8) mm_rows<1>(R, K, alpha, Am, sam, sak, B + n0, ldb, acc, Cm + n0, ldc);
    for (; n0 < N; n0++)
      for (int r = 0; r < R; r++) {
        float s = 0.0f;
        for (int k = 0; k < K; k++) s += Am[r * sam + (ptrdiff_t)k * sak] * B[(ptrdiff_t)k * ldb + n0];
        float& o = Cm[r * ldc + n0];
        o = alpha * s + (acc ? o : 0.0f);
      }
  }
}

// dst [cols, rows] = src [rows, cols]^T, src with leading dimension ld.
static void transpose_into(const float* src, ptrdiff_t ld, int rows, int cols, float* dst) {
  for (int j = 0; j < rows; j++)
    for (int c = 0; c < cols; c++) dst[(size_t)c * rows + j] = src[j * ld + c];
}

// dst [rows, cols] contiguous = src [rows, cols] with leading dimension ld.
static void copy_rows(const float* src, ptrdiff_t ld, int rows, int cols, float* dst) {
  for (int j = 0; j < rows; j++) memcpy(dst + (size_t)j * cols, src + j * ld, sizeof(float) * cols);
}
