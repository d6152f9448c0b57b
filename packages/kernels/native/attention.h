// Fused scaled-dot-product attention, forward and backward, included by kernels.cc (uses its sgemm,
// argument helpers and fast_expf). Works straight on the models' layout: the residual stream's
// position-major rows, so no transposes are needed around it:
//   q [Tq, N, dh], k and v [Tk, N / G, dh]   (N = batch * heads independent products, row t holds N * dh;
//        G query products share one key/value product, kv = n / G: grouped-query attention, G = 1 plain)
//   mask [Tq, M, Tk] additive, M divides N: product n reads mask slice n / (N / M) (M = 1 shared,
//        M = batch with n = b * heads + h, M = N one per product)
//   P [N, Tq, Tk] = softmax_j(c(scale * q_n k_kv^T) + mask), c = cap * tanh(. / cap) when softcap > 0
//   z [Tq, N, dh] = P_n v_kv
// Each product's q_n is the strided matrix at q + n * dh with leading dimension N * dh, which is what
// sgemm's lda is for.
//
// Backward, per product (dz given):
//   dP = dz_n v_kv^T;  dv_kv += P^T dz_n;  dS = P * (dP - rowsum(dP * P)) * scale;  dq_n = dS k_kv;  dk_kv += dS^T q_n
// (no soft-capping in the backward pass: the callers that differentiate do not cap)
//
//   attention(heap, qOff, kOff, vOff, maskOff, maskSlices, zOff, pOff, Tq, Tk, N, dh, scale, groups, softcap, threads)
//   attentionGrad(heap, dzOff, qOff, kOff, vOff, pOff, dqOff, dkOff, dvOff, Tq, Tk, N, dh, scale, groups, threads)
// `threads` > 1 splits the key/value products (with their G query products, so the dk/dv sums stay in
// one thread) into contiguous ranges, one std::thread each; every product is computed exactly as on one
// thread, so results do not depend on the thread count. The caller sets the BLAS to one thread.

// exp for softmax: exactly 0 below float's range (masked entries carry -1e9), fast_expf elsewhere (<= 0).
static inline float softmax_expf(float x) { return x < -87.0f ? 0.0f : fast_expf(x); }

// The 16 arguments of both functions (more than Args holds); throws and returns false when short.
static bool get16(napi_env env, napi_callback_info info, napi_value* v, const char* what) {
  size_t n = 16;
  if (napi_get_cb_info(env, info, &n, v, nullptr, nullptr) == napi_ok && n >= 16) return true;
  napi_throw_error(env, nullptr, (std::string("conceptscope-kernels: ") + what + " takes 16 arguments").c_str());
  return false;
}

// fn(p0, p1) over query products [p0, p1), split at multiples of G across up to `threads` threads.
template <typename F>
static void over_products(int N, int G, int threads, F fn) {
  const int groups = N / G;
  const int t = std::max(1, std::min(threads, groups));
  if (t == 1) return fn(0, N);
  std::vector<std::thread> pool;
  for (int i = 1; i < t; i++) pool.emplace_back([=] { fn((int)((long)groups * i / t) * G, (int)((long)groups * (i + 1) / t) * G); });
  fn(0, (groups / t) * G);
  for (auto& th : pool) th.join();
}

napi_value Attention(napi_env env, napi_callback_info info) {
  napi_value v[16];
  if (!get16(env, info, v, "attention")) return nullptr;
  float* heap = typed<float>(env, v[0], nullptr);
  const float* q = heap + (size_t)num(env, v[1]);
  const float* k = heap + (size_t)num(env, v[2]);
  const float* val = heap + (size_t)num(env, v[3]);
  const float* mask = heap + (size_t)num(env, v[4]);
  const int M = (int)num(env, v[5]);
  float* z = heap + (size_t)num(env, v[6]);
  float* P = heap + (size_t)num(env, v[7]);
  const int Tq = (int)num(env, v[8]), Tk = (int)num(env, v[9]), N = (int)num(env, v[10]), dh = (int)num(env, v[11]);
  const float scale = (float)num(env, v[12]);
  const int G = (int)num(env, v[13]);
  const float cap = (float)num(env, v[14]);
  const int threads = (int)num(env, v[15]);
  const int ld = N * dh, ldkv = (N / G) * dh, perMask = N / M;
  over_products(N, G, threads, [&](int p0, int p1) {
  for (int p = p0; p < p1; p++) {
    float* S = P + (size_t)p * Tq * Tk;  // [Tq, Tk]
    const size_t kv = (size_t)(p / G) * dh;
    sgemm(RowMajor, NoTrans, Trans, Tq, Tk, dh, scale, q + (size_t)p * dh, ld, k + kv, ldkv, 0.0f, S, Tk);
    if (cap > 0)
      for (size_t i = 0; i < (size_t)Tq * Tk; i++) S[i] = cap * tanhf(S[i] / cap);
    const float* mp = mask + (size_t)(p / perMask) * Tk;
    for (int i = 0; i < Tq; i++) {
      float* row = S + (size_t)i * Tk;
      const float* mrow = mp + (size_t)i * M * Tk;
      float mx = -INFINITY;
      for (int j = 0; j < Tk; j++) {
        row[j] += mrow[j];
        mx = row[j] > mx ? row[j] : mx;
      }
      float sum = 0.0f;
      for (int j = 0; j < Tk; j++) {
        const float e = softmax_expf(row[j] - mx);
        row[j] = e;
        sum += e;
      }
      const float inv = 1.0f / sum;
      for (int j = 0; j < Tk; j++) row[j] *= inv;
    }
    sgemm(RowMajor, NoTrans, NoTrans, Tq, dh, Tk, 1.0f, S, Tk, val + kv, ldkv, 0.0f, z + (size_t)p * dh, ld);
  }
  });
  return nullptr;
}

napi_value AttentionGrad(napi_env env, napi_callback_info info) {
  napi_value v[16];
  if (!get16(env, info, v, "attentionGrad")) return nullptr;
  float* heap = typed<float>(env, v[0], nullptr);
  const float* dz = heap + (size_t)num(env, v[1]);
  const float* q = heap + (size_t)num(env, v[2]);
  const float* k = heap + (size_t)num(env, v[3]);
  const float* val = heap + (size_t)num(env, v[4]);
  const float* P = heap + (size_t)num(env, v[5]);
  float* dq = heap + (size_t)num(env, v[6]);
  float* dk = heap + (size_t)num(env, v[7]);
  float* dv = heap + (size_t)num(env, v[8]);
  const int Tq = (int)num(env, v[9]), Tk = (int)num(env, v[10]), N = (int)num(env, v[11]), dh = (int)num(env, v[12]);
  const float scale = (float)num(env, v[13]);
  const int G = (int)num(env, v[14]);
  const int threads = (int)num(env, v[15]);
  const int ld = N * dh, ldkv = (N / G) * dh;
  // dk, dv accumulate over the G query products of each key/value product
  memset(dk, 0, sizeof(float) * (size_t)Tk * (N / G) * dh);
  memset(dv, 0, sizeof(float) * (size_t)Tk * (N / G) * dh);
  over_products(N, G, threads, [&](int p0, int p1) {
  std::vector<float> dP((size_t)Tq * Tk);  // [Tq, Tk] scratch of this thread, reused by its products
  for (int p = p0; p < p1; p++) {
    const float* Pp = P + (size_t)p * Tq * Tk;
    const float* dzp = dz + (size_t)p * dh;
    const size_t kv = (size_t)(p / G) * dh;
    sgemm(RowMajor, NoTrans, Trans, Tq, Tk, dh, 1.0f, dzp, ld, val + kv, ldkv, 0.0f, dP.data(), Tk);
    sgemm(RowMajor, Trans, NoTrans, Tk, dh, Tq, 1.0f, Pp, Tk, dzp, ld, 1.0f, dv + kv, ldkv);
    for (int i = 0; i < Tq; i++) {
      float* g = dP.data() + (size_t)i * Tk;
      const float* pr = Pp + (size_t)i * Tk;
      float dot = 0.0f;
      for (int j = 0; j < Tk; j++) dot += g[j] * pr[j];
      for (int j = 0; j < Tk; j++) g[j] = pr[j] * (g[j] - dot) * scale;
    }
    sgemm(RowMajor, NoTrans, NoTrans, Tq, dh, Tk, 1.0f, dP.data(), Tk, k + kv, ldkv, 0.0f, dq + (size_t)p * dh, ld);
    sgemm(RowMajor, Trans, NoTrans, Tk, dh, Tq, 1.0f, dP.data(), Tk, q + (size_t)p * dh, ld, 1.0f, dk + kv, ldkv);
  }
  });
  return nullptr;
}
