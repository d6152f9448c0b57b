// Fused scaled-dot-product attention, forward and backward, included by kernels.cc (uses its argument
// helpers, fast_expf and small-gemm.h's register-tiled products). Works straight on the models' layout,
// the residual stream's position-major rows, so no transposes are needed around it:
//   q [Tq, N, dh], k and v [Tk, N / G, dh]   (N = batch * heads independent products, row t holds N * dh;
//        G query products share one key/value product, kv = n / G: grouped-query attention, G = 1 plain)
//   mask [Tq, M, Tk] additive, M divides N: product n reads mask slice n / (N / M) (M = 1 shared,
//        M = batch with n = b * heads + h, M = N one per product)
//   P [N, Tq, Tk] = softmax_j(c(scale * q_n k_kv^T) + mask), c = cap * tanh(. / cap) when softcap > 0
//   z [Tq, N, dh] = P_n v_kv
// Each product's q_n is the strided matrix at q + n * dh with leading dimension N * dh, which is what
// small_mm's row stride is for.
//
// Backward, per product (dz given):
//   dP = dz_n v_kv^T;  dv_kv += P^T dz_n;  dS = P * (dP - rowsum(dP * P)) * scale;  dq_n = dS k_kv;  dk_kv += dS^T q_n
// (no soft-capping in the backward pass: the callers that differentiate do not cap)
//
//   attention(heap, qOff, kOff, vOff, maskOff, maskSlices, zOff, pOff, Tq, Tk, N, dh, scale, groups, softcap, threads)
//   attentionGrad(heap, dzOff, qOff, kOff, vOff, pOff, dqOff, dkOff, dvOff, Tq, Tk, N, dh, scale, groups, threads)
// Keys a whole query block cannot see are skipped (see key_ends); their P entries are written as 0, and
// the backward pass skips the keys where P is 0 (each block's nonzero_end). Each key/value product is
// packed contiguous once per group of G query products (their rows are N * dh floats apart), and in the
// backward pass dk, dv are summed over those G products before they are written.
// `threads` > 1 splits the key/value products (with their G query products, so the dk/dv sums stay in
// one thread) into contiguous ranges, one std::thread each; every product is computed exactly as on one
// thread, so results do not depend on the thread count.

// exp for softmax: exactly 0 below float's range (masked entries carry -1e9), fast_expf elsewhere (<= 0).
static inline float softmax_expf(float x) { return x < -87.0f ? 0.0f : fast_expf(x); }

// Queries are taken QBLOCK rows at a time; each block computes scores only for the keys before its
// key end: one past the last key that any of its rows can see. A key is out of sight when its mask
// entry lies more than MASK_GAP below its row's largest entry: its softmax weight exp(s + m - max) is
// then exactly 0 in float (for any score gap under ~1e6), so skipping it changes no result beyond
// rounding. A causal mask computes about (1 + 1/nb) / 2 of the scores of nb blocks.
const int QBLOCK = 16;
const int QBLOCK_GRAD = 16;  // the backward pass's query blocks (dP, dS, dq)
const int KCHUNK = 16;       // and key chunks (dk, dv: each over the query rows from the first block that sees it)
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

// Softmax reduces in LANES independent accumulators, so that its loops vectorise (one accumulator is a
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
  // this thread's current key/value product packed contiguous (keys transposed), and the query block
  std::vector<float> kT((size_t)dh * Tk), vp((size_t)Tk * dh), qb((size_t)QBLOCK * dh);
  for (int p = p0; p < p1; p++) {
    const size_t kv = (size_t)(p / G) * dh;
    if (p == p0 || p % G == 0) {
      transpose_into(k + kv, ldkv, Tk, dh, kT.data());
      copy_rows(val + kv, ldkv, Tk, dh, vp.data());
    }
    const int ms = p / perMask;
    const float* mp = mask + (size_t)ms * Tk;
    for (int b = 0; b < nb; b++) {
      const int i0 = b * QBLOCK, rows = std::min(QBLOCK, Tq - i0), ke = kend[(size_t)ms * nb + b];
      float* S = P + ((size_t)p * Tq + i0) * Tk;  // [rows, Tk], keys [0, ke) computed, the rest 0
      copy_rows(q + (size_t)i0 * ld + (size_t)p * dh, ld, rows, dh, qb.data());
      small_mm(rows, ke, dh, scale, qb.data(), dh, 1, kT.data(), Tk, false, S, Tk);
      for (int i = 0; i < rows; i++) {
        float* row = S + (size_t)i * Tk;
        const float* mrow = mp + (size_t)(i0 + i) * M * Tk;
        if (cap > 0)
          for (int j = 0; j < ke; j++) row[j] = cap * tanhf(row[j] / cap);
        softmax_row(row, mrow, ke);
        for (int j = ke; j < Tk; j++) row[j] = 0.0f;
      }
      small_mm(rows, dh, ke, 1.0f, S, Tk, 1, vp.data(), dh, false, z + (size_t)i0 * ld + (size_t)p * dh, ld);
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
  const int nb = (Tq + QBLOCK_GRAD - 1) / QBLOCK_GRAD;
  over_products(N, G, threads, [&](int p0, int p1) {
  // this thread's scratch; the current key/value product packed contiguous, its gradients accumulated
  // over its G query products in dkp, dvp and written out once
  std::vector<float> dP((size_t)Tq * Tk);  // [Tq, Tk]
  std::vector<float> vT((size_t)dh * Tk), kp((size_t)Tk * dh), dkp((size_t)Tk * dh), dvp((size_t)Tk * dh);
  std::vector<float> dzp((size_t)Tq * dh), qp((size_t)Tq * dh);  // [Tq, dh]: dz and q of the product
  std::vector<int> kes(nb);
  for (int p = p0; p < p1; p++) {
    const size_t kv = (size_t)(p / G) * dh;
    if (p == p0 || p % G == 0) {
      transpose_into(val + kv, ldkv, Tk, dh, vT.data());
      copy_rows(k + kv, ldkv, Tk, dh, kp.data());
      std::fill(dkp.begin(), dkp.end(), 0.0f);
      std::fill(dvp.begin(), dvp.end(), 0.0f);
    }
    copy_rows(dz + (size_t)p * dh, ld, Tq, dh, dzp.data());
    copy_rows(q + (size_t)p * dh, ld, Tq, dh, qp.data());
    const float* Pp = P + (size_t)p * Tq * Tk;  // [Tq, Tk]
    // per query block: dP = dz v^T, dS = P (dP - rowsum(dP P)) scale, dq = dS k over the keys it sees
    int keMax = 0;
    for (int b = 0; b < nb; b++) {
      const int i0 = b * QBLOCK_GRAD, rows = std::min(QBLOCK_GRAD, Tq - i0);
      const float* Pb = Pp + (size_t)i0 * Tk;
      const int ke = kes[b] = nonzero_end(Pb, rows, Tk);  // P is 0 from key ke on: those keys get no gradient
      keMax = std::max(keMax, ke);
      float* dqb = dq + (size_t)i0 * ld + (size_t)p * dh;
      if (ke == 0) {
        for (int i = 0; i < rows; i++) memset(dqb + (size_t)i * ld, 0, sizeof(float) * dh);
        continue;
      }
      float* g0 = dP.data() + (size_t)i0 * Tk;
      small_mm(rows, ke, dh, 1.0f, dzp.data() + (size_t)i0 * dh, dh, 1, vT.data(), Tk, false, g0, Tk);
      for (int i = 0; i < rows; i++) {
        float* g = g0 + (size_t)i * Tk;
        const float* pr = Pb + (size_t)i * Tk;
        const float dot = (float)lane_sum(ke, [&](size_t j) { return g[j] * pr[j]; });
        for (int j = 0; j < ke; j++) g[j] = pr[j] * (g[j] - dot) * scale;
      }
      small_mm(rows, dh, ke, 1.0f, g0, Tk, 1, kp.data(), dh, false, dqb, ld);
    }
    // dS is 0 where P is: fill each block's rows from its key end to the product's
    for (int b = 0; b < nb; b++)
      for (int i = b * QBLOCK_GRAD; i < std::min(Tq, (b + 1) * QBLOCK_GRAD); i++)
        std::fill(dP.data() + (size_t)i * Tk + kes[b], dP.data() + (size_t)i * Tk + keMax, 0.0f);
    // dv += P^T dz and dk += dS^T q, KCHUNK keys at a time over the query rows from the first block that
    // sees them (causal: about half of all rows), so each product runs over many rows at once
    for (int m0 = 0; m0 < keMax; m0 += KCHUNK) {
      const int mc = std::min(KCHUNK, keMax - m0);
      int b = 0;
      while (kes[b] <= m0) b++;
      const int qlo = b * QBLOCK_GRAD, kk = Tq - qlo;
      small_mm(mc, dh, kk, 1.0f, Pp + (size_t)qlo * Tk + m0, 1, Tk, dzp.data() + (size_t)qlo * dh, dh, true, dvp.data() + (size_t)m0 * dh, dh);
      small_mm(mc, dh, kk, 1.0f, dP.data() + (size_t)qlo * Tk + m0, 1, Tk, qp.data() + (size_t)qlo * dh, dh, true, dkp.data() + (size_t)m0 * dh, dh);
    }
    if (p % G == G - 1 || p == p1 - 1)
      for (int j = 0; j < Tk; j++) {
        memcpy(dk + (size_t)j * ldkv + kv, dkp.data() + (size_t)j * dh, sizeof(float) * dh);
        memcpy(dv + (size_t)j * ldkv + kv, dvp.data() + (size_t)j * dh, sizeof(float) * dh);
      }
  }
  });
  return nullptr;
}
