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
// Keys a whole query block cannot see are skipped (see key_ends); their P entries are written as 0.
// `threads` > 1 splits the key/value products (with their G query products, so the dk/dv sums stay in
// one thread) into contiguous ranges, one std::thread each; every product is computed exactly as on one
// thread, so results do not depend on the thread count. The caller sets the BLAS to one thread.

// exp for softmax: exactly 0 below float's range (masked entries carry -1e9), fast_expf elsewhere (<= 0).
static inline float softmax_expf(float x) { return x < -87.0f ? 0.0f : fast_expf(x); }

// Queries are taken QBLOCK rows at a time; each block computes scores only for the keys before its
// key end: one past the last key that any of its rows can see. A key is out of sight when its mask
// entry lies more than MASK_GAP below its row's largest entry: its softmax weight exp(s + m - max) is
// then exactly 0 in float (for any score gap under ~1e6), so skipping it changes no result beyond
// rounding. A causal mask computes about (1 + 1/nb) / 2 of the scores of nb blocks.
const int QBLOCK = 32;
const float MASK_GAP = 1e6f;

// Key end of every (mask slice, query block): kend[m * nb + b], mask [Tq, M, Tk].
static std::vector<int> key_ends(const float* mask, int Tq, int M, int Tk) {
  const int nb = (Tq + QBLOCK - 1) / QBLOCK;
  std::vector<int> kend((size_t)M * nb, 0);
  for (int m = 0; m < M; m++)
    for (int i = 0; i < Tq; i++) {
      const float* row = mask + ((size_t)i * M + m) * Tk;
      float mx = -INFINITY;
      for (int j = 0; j < Tk; j++) mx = row[j] > mx ? row[j] : mx;
      int last = Tk - 1;
      while (last > 0 && !(row[last] >= mx - MASK_GAP)) last--;
      int& e = kend[(size_t)m * nb + i / QBLOCK];
      e = std::max(e, last + 1);
    }
  return kend;
}

// One past the last column of P [rows, Tk] (leading dimension Tk) with a nonzero entry in any row.
static int nonzero_end(const float* P, int rows, int Tk) {
  int end = 0;
  for (int i = 0; i < rows; i++) {
    const float* r = P + (size_t)i * Tk;
    int j = Tk;
    while (j > end && r[j - 1] == 0.0f) j--;
    end = std::max(end, j);
  }
  return end;
}

// Row reductions in LANES independent accumulators, so that the loops vectorise (one accumulator is a
// serial chain of dependent adds, and keeps the exp loop scalar too).
const int LANES = 8;

// row[j] = softmax_j(row[j] + mask[j]) over n entries, in place.
static inline void softmax_row(float* row, const float* mask, int n) {
  float lm[LANES], ls[LANES];
  for (int l = 0; l < LANES; l++) lm[l] = -INFINITY, ls[l] = 0.0f;
  int j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++) {
      const float x = row[j + l] + mask[j + l];
      row[j + l] = x;
      lm[l] = x > lm[l] ? x : lm[l];
    }
  for (; j < n; j++) {
    row[j] += mask[j];
    lm[0] = row[j] > lm[0] ? row[j] : lm[0];
  }
  float mx = lm[0];
  for (int l = 1; l < LANES; l++) mx = lm[l] > mx ? lm[l] : mx;
  for (j = 0; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++) {
      const float e = softmax_expf(row[j + l] - mx);
      row[j + l] = e;
      ls[l] += e;
    }
  for (; j < n; j++) {
    row[j] = softmax_expf(row[j] - mx);
    ls[0] += row[j];
  }
  float sum = 0.0f;
  for (int l = 0; l < LANES; l++) sum += ls[l];
  const float inv = 1.0f / sum;
  for (j = 0; j < n; j++) row[j] *= inv;
}

// sum_j a[j] b[j] over n entries.
static inline float lane_dot(const float* a, const float* b, int n) {
  float acc[LANES] = {0};
  int j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++) acc[l] += a[j + l] * b[j + l];
  for (; j < n; j++) acc[0] += a[j] * b[j];
  float s = 0.0f;
  for (int l = 0; l < LANES; l++) s += acc[l];
  return s;
}

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
  const int nb = (Tq + QBLOCK - 1) / QBLOCK;
  const std::vector<int> kend = key_ends(mask, Tq, M, Tk);
  over_products(N, G, threads, [&](int p0, int p1) {
  for (int p = p0; p < p1; p++) {
    const size_t kv = (size_t)(p / G) * dh;
    const int ms = p / perMask;
    const float* mp = mask + (size_t)ms * Tk;
    for (int b = 0; b < nb; b++) {
      const int i0 = b * QBLOCK, rows = std::min(QBLOCK, Tq - i0), ke = kend[(size_t)ms * nb + b];
      float* S = P + ((size_t)p * Tq + i0) * Tk;  // [rows, Tk], keys [0, ke) computed, the rest 0
      sgemm(RowMajor, NoTrans, Trans, rows, ke, dh, scale, q + (size_t)i0 * ld + (size_t)p * dh, ld, k + kv, ldkv, 0.0f, S, Tk);
      for (int i = 0; i < rows; i++) {
        float* row = S + (size_t)i * Tk;
        const float* mrow = mp + (size_t)(i0 + i) * M * Tk;
        if (cap > 0)
          for (int j = 0; j < ke; j++) row[j] = cap * tanhf(row[j] / cap);
        softmax_row(row, mrow, ke);
        for (int j = ke; j < Tk; j++) row[j] = 0.0f;
      }
      sgemm(RowMajor, NoTrans, NoTrans, rows, dh, ke, 1.0f, S, Tk, val + kv, ldkv, 0.0f, z + (size_t)i0 * ld + (size_t)p * dh, ld);
    }
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
  const int nb = (Tq + QBLOCK - 1) / QBLOCK;
  over_products(N, G, threads, [&](int p0, int p1) {
  std::vector<float> dP((size_t)Tq * Tk);  // [Tq, Tk] scratch of this thread, reused by its products
  for (int p = p0; p < p1; p++) {
    const size_t kv = (size_t)(p / G) * dh;
    for (int b = 0; b < nb; b++) {
      const int i0 = b * QBLOCK, rows = std::min(QBLOCK, Tq - i0);
      const float* Pb = P + ((size_t)p * Tq + i0) * Tk;  // [rows, Tk]
      const int ke = nonzero_end(Pb, rows, Tk);           // P is 0 from key ke on: those keys get no gradient
      if (ke == 0) {
        for (int i = 0; i < rows; i++) memset(dq + (size_t)(i0 + i) * ld + (size_t)p * dh, 0, sizeof(float) * dh);
        continue;
      }
      const float* dzb = dz + (size_t)i0 * ld + (size_t)p * dh;
      const float* qb = q + (size_t)i0 * ld + (size_t)p * dh;
      float* g0 = dP.data() + (size_t)i0 * Tk;
      sgemm(RowMajor, NoTrans, Trans, rows, ke, dh, 1.0f, dzb, ld, val + kv, ldkv, 0.0f, g0, Tk);
      sgemm(RowMajor, Trans, NoTrans, ke, dh, rows, 1.0f, Pb, Tk, dzb, ld, 1.0f, dv + kv, ldkv);
      for (int i = 0; i < rows; i++) {
        float* g = g0 + (size_t)i * Tk;
        const float* pr = Pb + (size_t)i * Tk;
        const float dot = lane_dot(g, pr, ke);
        for (int j = 0; j < ke; j++) g[j] = pr[j] * (g[j] - dot) * scale;
      }
      sgemm(RowMajor, NoTrans, NoTrans, rows, dh, ke, 1.0f, g0, Tk, k + kv, ldkv, 0.0f, dq + (size_t)i0 * ld + (size_t)p * dh, ld);
      sgemm(RowMajor, Trans, NoTrans, ke, dh, rows, 1.0f, g0, Tk, qb, ld, 1.0f, dk + kv, ldkv);
    }
  }
  });
  return nullptr;
}
