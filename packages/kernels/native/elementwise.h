// Elementwise and row-wise kernels of kernels.cc (included inside its anonymous namespace, after the
// argument helpers): activations, sums over a block of axes, tanh/sigmoid/exp, and the fused GELU and
// LayerNorm forward and backward passes. Loops are written to vectorise (see fast_expf).
#pragma once
napi_value Activation(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 5)) return nullptr;
  float* x = typed<float>(env, a.v[0], nullptr) + (size_t)num(env, a.v[1]);
  const size_t n = (size_t)num(env, a.v[2]);
  const int kind = (int)num(env, a.v[3]);
  const float alpha = (float)num(env, a.v[4]);
  switch (kind) {
    case 1: for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0; break;
    case 2: for (size_t i = 0; i < n; i++) x[i] = x[i] < 0 ? 0 : (x[i] > 6 ? 6 : x[i]); break;
    case 3: for (size_t i = 0; i < n; i++) x[i] = x[i] < 0 ? alpha * x[i] : x[i]; break;
    case 4: for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case 5: for (size_t i = 0; i < n; i++) x[i] = x[i] < 0 ? expm1f(x[i]) : x[i]; break;
    default: break;
  }
  return nullptr;
}

napi_value SumMiddle(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 6)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  float* out = heap + (size_t)num(env, a.v[2]);
  const size_t outer = (size_t)num(env, a.v[3]), rows = (size_t)num(env, a.v[4]), cols = (size_t)num(env, a.v[5]);
  if (cols == 1) {
    for (size_t o = 0; o < outer; o++) {
      const float* r = x + o * rows;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      size_t i = 0;
      for (; i + 4 <= rows; i += 4) s0 += r[i], s1 += r[i + 1], s2 += r[i + 2], s3 += r[i + 3];
      for (; i < rows; i++) s0 += r[i];
      out[o] = (float)((s0 + s1) + (s2 + s3));
    }
    return nullptr;
  }
  std::vector<double> acc(cols);
  for (size_t o = 0; o < outer; o++) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const float* base = x + o * rows * cols;
    for (size_t r = 0; r < rows; r++) {
      const float* row = base + r * cols;
      for (size_t c = 0; c < cols; c++) acc[c] += row[c];
    }
    for (size_t c = 0; c < cols; c++) out[o * cols + c] = (float)acc[c];
  }
  return nullptr;
}

// exp(x) for float, branch-free so that loops over it vectorise (glibc's expf does not): 2^n * p(r)
// with n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two for exactness), p a degree-6 Taylor
// polynomial (relative error < 2e-7 on |r| <= ln2 / 2). x is clamped to [-87, 88].
static inline float fast_expf(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest (|x| < 2^22)
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits;
  memcpy(&bits, &p, 4);
  bits += (int32_t)n << 23;
  memcpy(&p, &bits, 4);
  return p;
}

// fn(i0, m, e) over blocks of up to 256 elements, e[i] = fast_expf(arg(i0 + i)) computed first in its
// own loop. Kept apart, both loops vectorise cleanly; written as one loop, GCC specialises the division
// that follows for fast_expf's clamped range (two divisions and three blends per vector: 2.4x slower).
// Results are the same bits either way.
template <typename A, typename F>
static inline void exp_blocks(size_t n, A arg, F fn) {
  float e[256];
  for (size_t i0 = 0; i0 < n; i0 += 256) {
    const size_t m = n - i0 < 256 ? n - i0 : 256;
    for (size_t i = 0; i < m; i++) e[i] = fast_expf(arg(i0 + i));
    fn(i0, m, e);
  }
}

napi_value Unary(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 5)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  float* out = heap + (size_t)num(env, a.v[2]);
  const size_t n = (size_t)num(env, a.v[3]);
  switch ((int)num(env, a.v[4])) {
    case 0: for (size_t i = 0; i < n; i++) out[i] = tanhf(x[i]); break;
    case 1: for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case 2:  // exp: fast_expf, with exact 0 below float's range and +inf above (as expf)
      for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        const bool hi = v > 87.0f;  // fast_expf clamps at 88: take e^(v-1) * e up there
        const float e = fast_expf(hi ? v - 1.0f : v) * (hi ? 2.71828183f : 1.0f);
        out[i] = v < -103.97f ? 0.0f : (v > 88.72f ? __builtin_inff() : e);
      }
      break;
    default: break;
  }
  return nullptr;
}

const double GELU_C = 0.7978845608028654;  // sqrt(2 / pi)
const double GELU_A = 0.044715;

// The tanh GELU is x sigmoid(2u), u = c (x + a x^3): the exp argument -2u (also the GeGLU gate's).
static inline float gelu_exp_arg(float v) { return -2.0f * (float)GELU_C * (v + (float)GELU_A * v * v * v); }

napi_value Gelu(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 4)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  float* out = heap + (size_t)num(env, a.v[2]);
  const size_t n = (size_t)num(env, a.v[3]);
  // 0.5 x (1 + tanh u) = x sigmoid(2u)
  exp_blocks(n, [&](size_t i) { return gelu_exp_arg(x[i]); }, [&](size_t i0, size_t m, const float* e) {
    for (size_t i = 0; i < m; i++) out[i0 + i] = x[i0 + i] / (1.0f + e[i]);
  });
  return nullptr;
}

napi_value GeluGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 5)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  const float* dy = heap + (size_t)num(env, a.v[2]);
  float* out = heap + (size_t)num(env, a.v[3]);
  const size_t n = (size_t)num(env, a.v[4]);
  const float c = (float)GELU_C, k = (float)GELU_A;
  // with s = sigmoid(2u) = 0.5 (1 + tanh u): d/dx x s = s + 2 x s (1 - s) c (1 + 3 a x^2)
  exp_blocks(n, [&](size_t i) { return gelu_exp_arg(x[i]); }, [&](size_t i0, size_t m, const float* e) {
    for (size_t i = 0; i < m; i++) {
      const float v = x[i0 + i];
      const float sg = 1.0f / (1.0f + e[i]);
      out[i0 + i] = dy[i0 + i] * (sg + 2.0f * v * sg * (1.0f - sg) * c * (1.0f + 3.0f * k * v * v));
    }
  });
  return nullptr;
}

// sum of f(j) over j < n in 16 float lanes (vectorises; a single accumulator is a serial chain of
// dependent adds), the lanes added in double
template <typename F>
static inline double lane_sum(size_t n, F f) {
  float lane[16] = {0};
  size_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int l = 0; l < 16; l++) lane[l] += f(j + l);
  double s = 0;
  for (int l = 0; l < 16; l++) s += lane[l];
  for (; j < n; j++) s += f(j);
  return s;
}

napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 10)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  const float* w = heap + (size_t)num(env, a.v[2]);
  const float* b = heap + (size_t)num(env, a.v[3]);
  float* y = heap + (size_t)num(env, a.v[4]);
  float* xhat = heap + (size_t)num(env, a.v[5]);
  float* rstd = heap + (size_t)num(env, a.v[6]);
  const size_t rows = (size_t)num(env, a.v[7]), d = (size_t)num(env, a.v[8]);
  const double eps = num(env, a.v[9]);
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * d;
    const float mean = (float)(lane_sum(d, [&](size_t j) { return xr[j]; }) / d);
    const float rs = (float)(1.0 / sqrt(lane_sum(d, [&](size_t j) { return (xr[j] - mean) * (xr[j] - mean); }) / d + eps));
    rstd[r] = rs;
    float* hr = xhat + r * d;
    float* yr = y + r * d;
    for (size_t j = 0; j < d; j++) {
      const float h = (xr[j] - mean) * rs;
      hr[j] = h;
      yr[j] = h * w[j] + b[j];
    }
  }
  return nullptr;
}

napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 10)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* dy = heap + (size_t)num(env, a.v[1]);
  const float* xhat = heap + (size_t)num(env, a.v[2]);
  const float* rstd = heap + (size_t)num(env, a.v[3]);
  const float* w = heap + (size_t)num(env, a.v[4]);
  float* dx = heap + (size_t)num(env, a.v[5]);
  float* dw = heap + (size_t)num(env, a.v[6]);
  float* db = heap + (size_t)num(env, a.v[7]);
  const size_t rows = (size_t)num(env, a.v[8]), d = (size_t)num(env, a.v[9]);
  // dw, db: float partial sums over blocks of 64 rows, added into double accumulators
  std::vector<double> accW(d, 0.0), accB(d, 0.0);
  std::vector<float> partW(d, 0.0f), partB(d, 0.0f);
  for (size_t r = 0; r < rows; r++) {
    const float* dyr = dy + r * d;
    const float* hr = xhat + r * d;
    const float mg = (float)(lane_sum(d, [&](size_t j) { return dyr[j] * w[j]; }) / d);
    const float mgx = (float)(lane_sum(d, [&](size_t j) { return dyr[j] * w[j] * hr[j]; }) / d);
    for (size_t j = 0; j < d; j++) {
      partW[j] += dyr[j] * hr[j];
      partB[j] += dyr[j];
    }
    if (r % 64 == 63 || r + 1 == rows)
      for (size_t j = 0; j < d; j++) {
        accW[j] += partW[j];
        accB[j] += partB[j];
        partW[j] = partB[j] = 0.0f;
      }
    const float rs = rstd[r];
    float* dxr = dx + r * d;
    for (size_t j = 0; j < d; j++) dxr[j] = rs * (dyr[j] * w[j] - mg - hr[j] * mgx);
  }
  for (size_t j = 0; j < d; j++) {
    dw[j] = (float)accW[j];
    db[j] = (float)accB[j];
  }
  return nullptr;
}
