// What the device code of cuda/ needs to compile as host C++ (the compiled CPU engine,
// pyNN_neurongpu/engine/cpu): CUDA's qualifiers defined away and its intrinsics in plain C++
// with the same results. Included before neurongpu_common.cuh.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>

#define __device__
#define __global__
#define __forceinline__ inline __attribute__((always_inline))

using std::exp; using std::expm1; using std::fabs; using std::fmax; using std::fmin;
using std::floor; using std::log; using std::log1p; using std::pow; using std::sqrt;
using std::isfinite; using std::isinf; using std::max; using std::min;

static inline unsigned int __umulhi(unsigned int a, unsigned int b)
{
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
static inline double cospi(double x) { return std::cos(M_PI * x); }
static inline float __fdividef(float a, float b) { return a / b; }
// one thread: an atomic operation is the operation, in the order the code makes them
template <typename T>
static inline T atomicAdd(T* p, T v)
{
    const T old = *p;
    *p = old + v;
    return old;
}
template <typename T>
static inline T atomicOr(T* p, T v)
{
    const T old = *p;
    *p = old | v;
    return old;
}
// a kernel runs as one block of one thread: its grid-stride loops visit every item in order
struct HostDim3 { unsigned int x, y, z; };
static const HostDim3 gridDim{1, 1, 1}, blockDim{1, 1, 1}, blockIdx{0, 0, 0}, threadIdx{0, 0, 0};
// a warp has one lane (cuda/procedural.cu): a shuffle reads the lane's own value, which is
// the lane asked for (the last) or one the caller does not add (lane >= d never holds)
#define WARP_LANES 1
template <typename T>
static inline T __shfl_sync(unsigned int, T v, int) { return v; }
template <typename T>
static inline T __shfl_up_sync(unsigned int, T v, unsigned int) { return v; }
