// Native kernels for the tfjs wasm backend, over a CBLAS loaded at run time.
//
// Every function works on the wasm heap: JS passes the heap as a Float32Array (backend.wasm.HEAPF32)
// plus element offsets, so nothing is copied in or out. The BLAS is dlopen'ed (no headers, no -dev
// package at build time); only cblas_sgemm is required.
//
// Exports:
//   init(paths: string[]) -> string | null      the library that loaded (null: none did)
//   setThreads(n)                               openblas_set_num_threads when the library has it
//   gemm(heap, transA, transB, M, N, K, aOffs, bOffs, cOffs[, biasOff])
//        C_i [M, N] = op(A_i) op(B_i) (+ bias [N] on every row when biasOff >= 0) for every i; offsets
//        are Float64Arrays of element offsets,
//        A_i is [M, K] ([K, M] when transA), B_i is [K, N] ([N, K] when transB), all row-major
//   stridedCopy(heap, srcOff, dstOff, shape: Int32Array, srcStrides: Float64Array)
//        dst (contiguous, `shape`) [i...] = src[srcOff + sum i_d * srcStrides_d]
//   broadcastAdd(heap, outOff, shape: Int32Array, bOff, bStrides: Float64Array)
//        out[i...] += b[bOff + sum i_d * bStrides_d]   (stride 0 = broadcast axis)
//   activation(heap, off, n, kind, alpha)       in place: 0 linear 1 relu 2 relu6 3 leakyrelu 4 sigmoid 5 elu
//   sumMiddle(heap, xOff, outOff, outer, rows, cols)
//        x [outer, rows, cols] summed over rows -> out [outer, cols], float64 accumulators
//   unary(heap, xOff, outOff, n, kind)          0 tanh 1 sigmoid
//   gelu(heap, xOff, outOff, n)                 GPT-2 tanh GELU: 0.5 x (1 + tanh(c (x + a x^3)))
//   geluGrad(heap, xOff, dyOff, outOff, n)      dy * d gelu / dx
//   layerNorm(heap, xOff, wOff, bOff, yOff, xhatOff, rstdOff, rows, d, eps)
//        per row of x [rows, d]: xhat = (x - mean) * rstd, rstd = 1/sqrt(var + eps), y = xhat * w + b
//   layerNormGrad(heap, dyOff, xhatOff, rstdOff, wOff, dxOff, dwOff, dbOff, rows, d)
//        g = dy w; dx = rstd (g - mean(g) - xhat mean(g xhat)); dw = sum_rows dy xhat; db = sum_rows dy
//   rope(...), rmsNorm(...), gatedAct(...)      HF decoder pieces (forward only): see decoder.h
//   attention(...), attentionGrad(...)          fused softmax attention on [T, N, dh] rows: see attention.h
//   crossEntropy(...), crossEntropyGrad(...)   mean next-token loss and its gradient: see loss.h
//   adamStep(...)                               Adam over Float32Arrays, as finetuners' JS Adam: see optim.h
//   readStart(...), readWait(...)               checkpoint bytes into the heap on a thread: see reader.h
#include <node_api.h>
#include <algorithm>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <string>
#include <thread>
#include <vector>

namespace {

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
typedef void (*sgemm_t)(int, int, int, int, int, int, float, const float*, int, const float*, int, float,
                        float*, int);
typedef void (*set_threads_t)(int);

sgemm_t sgemm = nullptr;
set_threads_t set_threads = nullptr;

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, nullptr, "conceptscope-kernels: " #call); \
      return nullptr;                                                \
    }                                                                \
  } while (0)

struct Args {
  napi_value v[10];
  size_t n = 10;
};

bool get_args(napi_env env, napi_callback_info info, Args& a, size_t need) {
  if (napi_get_cb_info(env, info, &a.n, a.v, nullptr, nullptr) != napi_ok || a.n < need) {
    napi_throw_error(env, nullptr, "conceptscope-kernels: wrong number of arguments");
    return false;
  }
  return true;
}

// Pointer to the start of a typed array's elements.
template <typename T>
T* typed(napi_env env, napi_value v, size_t* len) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok) return nullptr;
  if (len) *len = length;
  return static_cast<T*>(data);
}

// A JS number (booleans and other values are coerced: true -> 1).
double num(napi_env env, napi_value v) {
  double d = 0;
  napi_value n;
  if (napi_coerce_to_number(env, v, &n) == napi_ok) napi_get_value_double(env, n, &d);
  return d;
}

napi_value Init(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return nullptr;
  uint32_t n = 0;
  CHECK(napi_get_array_length(env, a.v[0], &n));
  napi_value result;
  CHECK(napi_get_null(env, &result));
  for (uint32_t i = 0; i < n && !sgemm; i++) {
    napi_value s;
    CHECK(napi_get_element(env, a.v[0], i, &s));
    char path[1024];
    size_t len = 0;
    CHECK(napi_get_value_string_utf8(env, s, path, sizeof path, &len));
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    sgemm = reinterpret_cast<sgemm_t>(dlsym(h, "cblas_sgemm"));
    set_threads = reinterpret_cast<set_threads_t>(dlsym(h, "openblas_set_num_threads"));
    if (!sgemm) {
      dlclose(h);
      continue;
    }
    CHECK(napi_create_string_utf8(env, path, len, &result));
  }
  return result;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return nullptr;
  if (set_threads) set_threads(static_cast<int>(num(env, a.v[0])));
  return nullptr;
}

napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 9)) return nullptr;
  if (!sgemm) {
    napi_throw_error(env, nullptr, "conceptscope-kernels: no BLAS loaded");
    return nullptr;
  }
  float* heap = typed<float>(env, a.v[0], nullptr);
  bool ta = num(env, a.v[1]) != 0, tb = num(env, a.v[2]) != 0;
  int M = (int)num(env, a.v[3]), N = (int)num(env, a.v[4]), K = (int)num(env, a.v[5]);
  size_t nb = 0;
  double* ao = typed<double>(env, a.v[6], &nb);
  double* bo = typed<double>(env, a.v[7], nullptr);
  double* co = typed<double>(env, a.v[8], nullptr);
  int lda = ta ? M : K, ldb = tb ? K : N;
  // optional 10th argument: offset of a bias [N] that every row of C starts from (C = bias + AB)
  const float* bias = a.n >= 10 && num(env, a.v[9]) >= 0 ? heap + (size_t)num(env, a.v[9]) : nullptr;
  for (size_t i = 0; i < nb; i++) {
    float* C = heap + (size_t)co[i];
    if (bias)
      for (int r = 0; r < M; r++) memcpy(C + (size_t)r * N, bias, sizeof(float) * N);
    else if (K == 0)
      memset(C, 0, sizeof(float) * (size_t)M * N);
    if (K == 0) continue;
    sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, M, N, K, 1.0f, heap + (size_t)ao[i], lda,
          heap + (size_t)bo[i], ldb, bias ? 1.0f : 0.0f, C, N);
  }
  return nullptr;
}

// Recursive strided walk over `shape`; the innermost axis is a tight loop (memcpy when unit stride).
void copy_rec(const float* src, float*& dst, const int32_t* shape, const double* st, int rank, int d) {
  const int n = shape[d];
  const ptrdiff_t s = (ptrdiff_t)st[d];
  if (d == rank - 1) {
    if (s == 1) {
      memcpy(dst, src, sizeof(float) * n);
      dst += n;
    } else {
      for (int i = 0; i < n; i++) *dst++ = src[i * s];
    }
    return;
  }
  for (int i = 0; i < n; i++) copy_rec(src + i * s, dst, shape, st, rank, d + 1);
}

// A transpose that moves the source's contiguous axis to output axis `a` (not the last): copy in
// 16 x 16 tiles over (a, last output axis), so reads run along the source's contiguous axis and writes
// along the output's, instead of one cache line per element.
void tiled_copy(const float* src, float* dst, const int32_t* shape, const double* st, int rank, int a) {
  std::vector<ptrdiff_t> ost(rank);
  ptrdiff_t acc = 1;
  for (int d = rank - 1; d >= 0; d--) ost[d] = acc, acc *= shape[d];
  const int last = rank - 1;
  const int na = shape[a], nl = shape[last];
  const ptrdiff_t sl = (ptrdiff_t)st[last], oa = ost[a];
  std::vector<int> idx(rank, 0);
  const int TILE = 16;
  while (true) {
    ptrdiff_t so = 0, dof = 0;
    for (int d = 0; d < rank; d++)
      if (d != a && d != last) so += idx[d] * (ptrdiff_t)st[d], dof += idx[d] * ost[d];
    for (int i0 = 0; i0 < na; i0 += TILE)
      for (int j0 = 0; j0 < nl; j0 += TILE) {
        const int i1 = std::min(i0 + TILE, na), j1 = std::min(j0 + TILE, nl);
        for (int i = i0; i < i1; i++) {
          const float* in = src + so + i;
          float* out = dst + dof + i * oa;
          for (int j = j0; j < j1; j++) out[j] = in[j * sl];
        }
      }
    int d = rank - 1;
    for (; d >= 0; d--) {
      if (d == a || d == last) continue;
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

napi_value StridedCopy(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 5)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  size_t rank = 0;
  const int32_t* shape = typed<int32_t>(env, a.v[3], &rank);
  const double* st = typed<double>(env, a.v[4], nullptr);
  float* dst = heap + (size_t)num(env, a.v[2]);
  const float* src = heap + (size_t)num(env, a.v[1]);
  if (rank == 0) {
    *dst = *src;
    return nullptr;
  }
  for (size_t d = 0; d < rank; d++)
    if (shape[d] == 0) return nullptr;
  if (rank >= 2 && st[rank - 1] != 1 && shape[rank - 1] > 1) {
    for (int a = 0; a < (int)rank - 1; a++)
      if (st[a] == 1 && shape[a] > 1) {
        tiled_copy(src, dst, shape, st, (int)rank, a);
        return nullptr;
      }
  }
  copy_rec(src, dst, shape, st, (int)rank, 0);
  return nullptr;
}

void add_rec(float*& out, const float* b, const int32_t* shape, const double* st, int rank, int d) {
  const int n = shape[d];
  const ptrdiff_t s = (ptrdiff_t)st[d];
  if (d == rank - 1) {
    if (s == 0) {
      const float v = *b;
      for (int i = 0; i < n; i++) *out++ += v;
    } else {
      for (int i = 0; i < n; i++) *out++ += b[i * s];
    }
    return;
  }
  for (int i = 0; i < n; i++) add_rec(out, b + i * s, shape, st, rank, d + 1);
}

napi_value BroadcastAdd(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 5)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  size_t rank = 0;
  const int32_t* shape = typed<int32_t>(env, a.v[2], &rank);
  const double* st = typed<double>(env, a.v[4], nullptr);
  float* out = heap + (size_t)num(env, a.v[1]);
  const float* b = heap + (size_t)num(env, a.v[3]);
  for (size_t d = 0; d < rank; d++)
    if (shape[d] == 0) return nullptr;
  if (rank == 0) {
    *out += *b;
    return nullptr;
  }
  add_rec(out, b, shape, st, (int)rank, 0);
  return nullptr;
}

#include "elementwise.h"
#include "decoder.h"
#include "small-gemm.h"
#include "attention.h"
#include "loss.h"
#include "optim.h"
}  // namespace
#include "reader.h"
namespace {


napi_value Register(napi_env env, napi_value exports) {
  const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {{"init", Init},           {"setThreads", SetThreads}, {"gemm", Gemm},
             {"stridedCopy", StridedCopy}, {"broadcastAdd", BroadcastAdd}, {"activation", Activation},
             {"sumMiddle", SumMiddle}, {"unary", Unary}, {"gelu", Gelu}, {"geluGrad", GeluGrad},
             {"layerNorm", LayerNorm}, {"layerNormGrad", LayerNormGrad},
             {"attention", Attention}, {"attentionGrad", AttentionGrad}, {"rope", Rope},
             {"rmsNorm", RmsNorm}, {"gatedAct", GatedAct}, {"rmsNormGrad", RmsNormGrad}, {"gatedActGrad", GatedActGrad}, {"crossEntropy", CrossEntropy}, {"crossEntropyGrad", CrossEntropyGrad}, {"adamStep", AdamStep}, {"readStart", ReadStart}, {"readWait", ReadWait}};
  for (const auto& f : fns) {
    napi_value v;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v) != napi_ok) return nullptr;
    if (napi_set_named_property(env, exports, f.name, v) != napi_ok) return nullptr;
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Register)
