// Adam's update over plain Float32Arrays (not the wasm heap), included by kernels.cc inside its anonymous
// namespace:
//   adamStep(p, g, m, v: Float32Array, c: Float64Array [gradScale, b1, b2, stepSize, sqrtBc2, eps, decay])
//        per element, in float64 exactly as @conceptscope/finetuners' JS Adam (so either resumes the other
//        bit for bit): gi = g gradScale; mi = b1 m + (1-b1) gi; vi = b2 v + (1-b2) gi^2; m = mi; v = vi;
//        p = p decay - stepSize mi / (sqrt(vi) / sqrtBc2 + eps)
#pragma once

__attribute__((optimize("fp-contract=off"))) napi_value AdamStep(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 5)) return nullptr;
  size_t n = 0, ng = 0, nm = 0, nv = 0;
  float* p = typed<float>(env, a.v[0], &n);
  const float* g = typed<float>(env, a.v[1], &ng);
  float* m = typed<float>(env, a.v[2], &nm);
  float* v = typed<float>(env, a.v[3], &nv);
  size_t nc = 0;
  const double* c = typed<double>(env, a.v[4], &nc);
  if (!p || !g || !m || !v || ng != n || nm != n || nv != n || !c || nc != 7) {
    napi_throw_error(env, nullptr, "conceptscope-kernels: adamStep(p, g, m, v: Float32Arrays of one length, coefficients: Float64Array of 7)");
    return nullptr;
  }
  const double scale = c[0], b1 = c[1], b2 = c[2], stepSize = c[3], sqrtBc2 = c[4], eps = c[5], decay = c[6];
  const double c1 = 1 - b1, c2 = 1 - b2;
  for (size_t i = 0; i < n; i++) {
    const double gi = (double)g[i] * scale;
    const double mi = b1 * (double)m[i] + c1 * gi;
    const double vi = b2 * (double)v[i] + c2 * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)((double)p[i] * decay - (stepSize * mi) / (sqrt(vi) / sqrtBc2 + eps));
  }
  return nullptr;
}
