// The GPU step's check of the neuron state after a chunk of steps (engine/numerics.py):
// one launch over every checked state array of every family, raising a flag where a value
// is NaN, infinite or outside its model's bounds. The host reads the flag once per chunk
// and only then looks for the neuron (engine/gpu/state_check.py).
#include "neurongpu_common.cuh"

// One checked array: its device address, length and bounds (engine/gpu/abi.py
// CHECKED_ARRAY_DTYPE; every field 8 bytes wide).
struct CheckedArray {
    unsigned long long values;
    long long n;
    double low, high;
};

// blockIdx.y is the array; the blocks of x stride over its elements.
extern "C" __global__ void flag_bad_state(const CheckedArray* __restrict__ arrays,
                                          int* __restrict__ flag)
{
    const CheckedArray a = arrays[blockIdx.y];
    const real* __restrict__ x = reinterpret_cast<const real*>(a.values);
    bool bad = false;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < a.n;
         i += (long long)gridDim.x * blockDim.x) {
        const double v = (double)x[i];
        // NaN fails both comparisons; infinities fail the finiteness test
        bad |= !(isfinite(v) && v >= a.low && v <= a.high);
    }
    if (__syncthreads_or(bad) && threadIdx.x == 0)
        atomicOr(flag, 1);
}
