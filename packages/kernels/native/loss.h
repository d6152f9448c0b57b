// Cross-entropy of logits against target ids, for training a language model here (included by kernels.cc
// inside its anonymous namespace, after elementwise.h):
//   crossEntropy(heap, xOff, targets: Int32Array, N, V, lseOff) -> sum over rows with target >= 0 of
//        lse_r - x[r, target_r]  (float64); lse [N] = log sum_v exp(x[r, v]) of every row
//   crossEntropyGrad(heap, xOff, lseOff, targets: Int32Array, N, V, scale, outOff)
//        out[r, v] = scale (exp(x[r, v] - lse_r) - [v == target_r]) for rows with a target, 0 otherwise
#pragma once

napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 6)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  size_t nt = 0;
  const int32_t* targets = typed<int32_t>(env, a.v[2], &nt);
  const size_t N = (size_t)num(env, a.v[3]), V = (size_t)num(env, a.v[4]);
  float* lse = heap + (size_t)num(env, a.v[5]);
  if (!targets || nt != N) {
    napi_throw_error(env, nullptr, "conceptscope-kernels: crossEntropy: targets must be an Int32Array of N entries");
    return nullptr;
  }
  double total = 0;
  for (size_t r = 0; r < N; r++) {
    const float* xr = x + r * V;
    float m = xr[0];
    for (size_t v = 1; v < V; v++) m = xr[v] > m ? xr[v] : m;
    const double s = lane_sum(V, [&](size_t v) { return fast_expf(xr[v] - m); });
    lse[r] = (float)(m + log(s));
    if (targets[r] >= 0) total += (double)lse[r] - xr[targets[r]];
  }
  napi_value result;
  CHECK(napi_create_double(env, total, &result));
  return result;
}

napi_value CrossEntropyGrad(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 8)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  const float* x = heap + (size_t)num(env, a.v[1]);
  const float* lse = heap + (size_t)num(env, a.v[2]);
  size_t nt = 0;
  const int32_t* targets = typed<int32_t>(env, a.v[3], &nt);
  const size_t N = (size_t)num(env, a.v[4]), V = (size_t)num(env, a.v[5]);
  const float scale = (float)num(env, a.v[6]);
  float* out = heap + (size_t)num(env, a.v[7]);
  if (!targets || nt != N) {
    napi_throw_error(env, nullptr, "conceptscope-kernels: crossEntropyGrad: targets must be an Int32Array of N entries");
    return nullptr;
  }
  for (size_t r = 0; r < N; r++) {
    float* o = out + r * V;
    if (targets[r] < 0) {
      for (size_t v = 0; v < V; v++) o[v] = 0.0f;
      continue;
    }
    const float* xr = x + r * V;
    const float l = lse[r];
    for (size_t v = 0; v < V; v++) o[v] = scale * fast_expf(xr[v] - l);
    o[targets[r]] -= scale;
  }
  return nullptr;
}
