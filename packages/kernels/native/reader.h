// Reading checkpoint bytes straight into the wasm heap on a thread of its own, so the streamed mode of
// @conceptscope/model-runners reads layer l+1 while layer l computes, with one copy (page cache -> heap).
//
//   readStart(heap, jobs: Float64Array) -> id
//        jobs holds 5 numbers per tensor: fd, byte position in the file, destination offset in float32
//        elements of `heap`, element count, stored dtype (0 F32, 1 F16, 2 BF16; decoded to float32 there).
//        One std::thread runs the jobs in order.
//   readWait(id, heap) -> 0 done; 1 a read failed (I/O error or end of file); 2 the heap moved while the
//        thread wrote into it (the caller must not trust those tensors)
//
// The thread writes through the heap's address at readStart. V8 reserves a wasm32 memory's whole address
// range on 64-bit hosts, so memory.grow keeps that address; readWait checks it did.
#pragma once
#include <unistd.h>
#include <map>
#include <mutex>

namespace {

struct HeapRead {
  std::thread thread;
  float* base = nullptr;
  int status = 0;
};

std::mutex reads_mutex;
std::map<int, HeapRead*> reads;
int next_read = 1;

// IEEE half -> float32, exactly (subnormals, Inf, NaN kept)
inline float half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  const uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  uint32_t bits;
  if (e == 0) {
    if (m == 0) bits = sign;
    else {  // subnormal: m * 2^-24, renormalised
      int shift = 0;
      uint32_t mm = m;
      while (!(mm & 0x400)) { mm <<= 1; shift++; }
      bits = sign | ((uint32_t)(127 - 15 + 1 - shift) << 23) | ((mm & 0x3ff) << 13);
    }
  } else if (e == 0x1f) bits = sign | 0x7f800000u | (m << 13);
  else bits = sign | ((e + 127 - 15) << 23) | (m << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

bool pread_full(int fd, void* dst, size_t n, int64_t pos) {
  char* p = static_cast<char*>(dst);
  while (n > 0) {
    const ssize_t r = pread(fd, p, n, pos);
    if (r <= 0) return false;
    p += r;
    n -= (size_t)r;
    pos += r;
  }
  return true;
}

napi_value ReadStart(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 2)) return nullptr;
  float* heap = typed<float>(env, a.v[0], nullptr);
  size_t len = 0;
  const double* j = typed<double>(env, a.v[1], &len);
  if (!heap || !j || len % 5 != 0) {
    napi_throw_error(env, nullptr, "conceptscope-kernels: readStart(heap, jobs [5 per tensor])");
    return nullptr;
  }
  std::vector<double> jobs(j, j + len);
  auto* r = new HeapRead();
  r->base = heap;
  r->thread = std::thread([r, heap, jobs = std::move(jobs)]() {
    std::vector<uint16_t> half;
    for (size_t k = 0; k < jobs.size() && r->status == 0; k += 5) {
      const int fd = (int)jobs[k];
      const int64_t pos = (int64_t)jobs[k + 1];
      float* out = heap + (size_t)jobs[k + 2];
      const size_t n = (size_t)jobs[k + 3];
      const int dtype = (int)jobs[k + 4];
      if (dtype == 0) {
        if (!pread_full(fd, out, n * 4, pos)) r->status = 1;
        continue;
      }
      const size_t chunk = 1 << 20;
      half.resize(std::min(n, chunk));
      for (size_t s = 0; s < n && r->status == 0; s += chunk) {
        const size_t c = std::min(chunk, n - s);
        if (!pread_full(fd, half.data(), c * 2, pos + (int64_t)(2 * s))) {
          r->status = 1;
          break;
        }
        if (dtype == 2) {
          uint32_t* o = reinterpret_cast<uint32_t*>(out + s);
          for (size_t i = 0; i < c; i++) o[i] = (uint32_t)half[i] << 16;
        } else
          for (size_t i = 0; i < c; i++) out[s + i] = half_to_float(half[i]);
      }
    }
  });
  int id;
  {
    std::lock_guard<std::mutex> lock(reads_mutex);
    id = next_read++;
    reads[id] = r;
  }
  napi_value result;
  CHECK(napi_create_int32(env, id, &result));
  return result;
}

napi_value ReadWait(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 2)) return nullptr;
  const int id = (int)num(env, a.v[0]);
  float* heap = typed<float>(env, a.v[1], nullptr);
  HeapRead* r = nullptr;
  {
    std::lock_guard<std::mutex> lock(reads_mutex);
    auto it = reads.find(id);
    if (it != reads.end()) {
      r = it->second;
      reads.erase(it);
    }
  }
  if (!r) {
    napi_throw_error(env, nullptr, "conceptscope-kernels: readWait: no such read");
    return nullptr;
  }
  r->thread.join();
  const int status = r->status != 0 ? r->status : (heap != r->base ? 2 : 0);
  delete r;
  napi_value result;
  CHECK(napi_create_int32(env, status, &result));
  return result;
}

}  // namespace
