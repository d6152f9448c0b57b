// Forward-only kernels of the Hugging Face decoders' blocks, included by kernels.cc (uses its argument
// helpers, exp_blocks, lane_sum and gelu_exp_arg of elementwise.h):
//   rope(heap, xOff, cosOff, sinOff, outOff, rows, heads, dim)
//        x [rows, heads, dim], cos and sin [rows, dim] (shared by the heads) -> x cos + rotate_half(x) sin,
//        rotate_half(x) = cat(-x2, x1)
//   rmsNorm(heap, xOff, wOff, yOff, rows, d, eps, onePlus)
//        per row of x [rows, d]: y = x / sqrt(mean(x^2) + eps) * w   (* (1 + w) when onePlus: Gemma)
//   gatedAct(heap, gOff, uOff, outOff, n, kind)
//        out = act(g) * u elementwise (the gated MLP's product); kind 0 SiLU g sigmoid(g),
//        1 tanh GELU 0.5 g (1 + tanh(c (g + a g^3)))
// and the gradients of the last two, for training a decoder here:
//   rmsNormGrad(heap, dyOff, xOff, wOff, dxOff, dwOff, rows, d, eps, onePlus)
//        r = 1/sqrt(mean(x^2) + eps) per row (recomputed), w' = w (+ 1); g = dy w';
//        dx = r (g - x r^2 mean(g x)); dw = sum over rows of dy x r (float64 accumulators)
//   gatedActGrad(heap, dyOff, gOff, uOff, dgOff, duOff, n, kind)
//        du = dy act(g); dg = dy u act'(g): SiLU' = s (1 + g (1 - s)), s = sigmoid(g);
//        tanh GELU' = s + g s (1 - s) 2c (1 + 3a g^2), s = sigmoid(2c (g + a g^3))
#pragma once

napi_value Rope(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 8)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  const float* cs = heap + (size_t)num(env, a.v[2]);
  const float* sn = heap + (size_t)num(env, a.v[3]);
  float* out = heap + (size_t)num(env, a.v[4]);
  const int rows = (int)num(env, a.v[5]), heads = (int)num(env, a.v[6]), dim = (int)num(env, a.v[7]);
  const int half = dim / 2;
  for (int r = 0; r < rows; r++) {
    const float* c = cs + (size_t)r * dim;
    const float* s = sn + (size_t)r * dim;
    for (int h = 0; h < heads; h++) {
      const float* xi = x + ((size_t)r * heads + h) * dim;
      float* o = out + ((size_t)r * heads + h) * dim;
      for (int i = 0; i < half; i++) o[i] = xi[i] * c[i] - xi[i + half] * s[i];
      for (int i = half; i < dim; i++) o[i] = xi[i] * c[i] + xi[i - half] * s[i];
    }
  }
  return nullptr;
}

napi_value RmsNorm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 8)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  const float* w = heap + (size_t)num(env, a.v[2]);
  float* y = heap + (size_t)num(env, a.v[3]);
  const size_t rows = (size_t)num(env, a.v[4]), d = (size_t)num(env, a.v[5]);
  const double eps = num(env, a.v[6]);
  const float one = num(env, a.v[7]) != 0 ? 1.0f : 0.0f;
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * d;
    const float rs = (float)(1.0 / sqrt(lane_sum(d, [&](size_t j) { return xr[j] * xr[j]; }) / d + eps));
    float* yr = y + r * d;
    for (size_t j = 0; j < d; j++) yr[j] = (xr[j] * rs) * (w[j] + one);
  }
  return nullptr;
}

napi_value GatedAct(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 6)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* g = heap + (size_t)num(env, a.v[1]);
  const float* u = heap + (size_t)num(env, a.v[2]);
  float* out = heap + (size_t)num(env, a.v[3]);
  const size_t n = (size_t)num(env, a.v[4]);
  const auto product = [&](size_t i0, size_t m, const float* e) {
    for (size_t i = 0; i < m; i++) out[i0 + i] = g[i0 + i] / (1.0f + e[i]) * u[i0 + i];
  };
  if ((int)num(env, a.v[5]) == 0)
    exp_blocks(n, [&](size_t i) { return -g[i]; }, product);  // g sigmoid(g)
  else  // 0.5 g (1 + tanh t) = g sigmoid(2t)
    exp_blocks(n, [&](size_t i) { return gelu_exp_arg(g[i]); }, product);
  return nullptr;
}

napi_value RmsNormGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 10)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* dy = heap + (size_t)num(env, a.v[1]);
  const float* x = heap + (size_t)num(env, a.v[2]);
  const float* w = heap + (size_t)num(env, a.v[3]);
  float* dx = heap + (size_t)num(env, a.v[4]);
  float* dw = heap + (size_t)num(env, a.v[5]);
  const size_t rows = (size_t)num(env, a.v[6]), d = (size_t)num(env, a.v[7]);
  const double eps = num(env, a.v[8]);
  const float one = num(env, a.v[9]) != 0 ? 1.0f : 0.0f;
  // dw: float partial sums over blocks of 64 rows, added into double accumulators
  std::vector<double> acc(d, 0.0);
  std::vector<float> part(d, 0.0f);
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * d;
    const float* dyr = dy + r * d;
    const float rs = (float)(1.0 / sqrt(lane_sum(d, [&](size_t j) { return xr[j] * xr[j]; }) / d + eps));
    const float m = (float)(lane_sum(d, [&](size_t j) { return dyr[j] * (w[j] + one) * xr[j]; }) / d);
    const float k = rs * rs * m;
    float* dxr = dx + r * d;
    for (size_t j = 0; j < d; j++) {
      dxr[j] = rs * (dyr[j] * (w[j] + one) - xr[j] * k);
      part[j] += dyr[j] * xr[j] * rs;
    }
    if (r % 64 == 63 || r + 1 == rows)
      for (size_t j = 0; j < d; j++) {
        acc[j] += part[j];
        part[j] = 0.0f;
      }
  }
  for (size_t j = 0; j < d; j++) dw[j] = (float)acc[j];
  return nullptr;
}

napi_value GatedActGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 8)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* dy = heap + (size_t)num(env, a.v[1]);
  const float* g = heap + (size_t)num(env, a.v[2]);
  const float* u = heap + (size_t)num(env, a.v[3]);
  float* dg = heap + (size_t)num(env, a.v[4]);
  float* du = heap + (size_t)num(env, a.v[5]);
  const size_t n = (size_t)num(env, a.v[6]);
  if ((int)num(env, a.v[7]) == 0)
    exp_blocks(n, [&](size_t i) { return -g[i]; }, [&](size_t i0, size_t m, const float* e) {
      for (size_t i = 0; i < m; i++) {
        const size_t k = i0 + i;
        const float s = 1.0f / (1.0f + e[i]);
        du[k] = dy[k] * g[k] * s;
        dg[k] = dy[k] * u[k] * s * (1.0f + g[k] * (1.0f - s));
      }
    });
  else
    exp_blocks(n, [&](size_t i) { return gelu_exp_arg(g[i]); }, [&](size_t i0, size_t m, const float* e) {
      for (size_t i = 0; i < m; i++) {
        const size_t k = i0 + i;
        const float s = 1.0f / (1.0f + e[i]);
        const float gk = g[k];
        du[k] = dy[k] * gk * s;
        const float dt = 2.0f * (float)GELU_C * (1.0f + 3.0f * (float)GELU_A * gk * gk);
        dg[k] = dy[k] * u[k] * (s + gk * s * (1.0f - s) * dt);
      }
    });
  return nullptr;
}
