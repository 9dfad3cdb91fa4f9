/*
 * fake_cudart.c: a stand-in libcudart for testing hipsem's CUDA-backed runtime without a
 * GPU. It implements the CUDA runtime calls that hipbackend/cuda_runtime/hip_cuda_runtime.c
 * forwards, on top of a private copy of hipsem's CPU runtime (built with another soname
 * and -Bsymbolic, loaded RTLD_LOCAL from $HIPSEM_FAKE_CUDART_BACKING), so that the
 * forwarding library, hip-python, HipDevice and the runner run end to end.
 *
 * Where the CPU runtime is kinder than CUDA, the fake checks that the forwarding library
 * supplies HIP's semantics itself:
 *  - cudaStreamDestroy counts destroys of a stream that still has work (CUDA's returns at
 *    once; HIP's must wait: the forwarding library synchronizes first);
 *  - cudaLaunchHostFunc counts host functions, and calls made into the fake while one runs.
 * $HIPSEM_FAKE_CUDART_BANDWIDTH: bytes per µs of async memsets/copies (default 20000; a
 * real memset adds its own time, so device durations are only roughly linear in size).
 * $HIPSEM_FAKE_CUDART_MODE: "ok" (default), "no-driver" (cudaGetDeviceCount answers
 * cudaErrorInsufficientDriver, 35), "no-device" (cudaErrorNoDevice, 100).
 * At exit it writes "key value" lines to $HIPSEM_FAKE_CUDART_LOG (if set).
 * CUDA and HIP share the numbers of every error the CPU runtime returns (1, 2, 3, 21,
 * 100, 101, 400, 401, 500, 600, 801, 999), so codes pass through unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef int err_t;
typedef void* handle_t;
typedef void (*fn_t)(void*);

#define HIP_FUNCTIONS(X)                                               \
    X(hipGetDeviceCount, (int*))                                       \
    X(hipSetDevice, (int))                                             \
    X(hipGetDevice, (int*))                                            \
    X(hipDeviceSynchronize, (void))                                    \
    X(hipGetLastError, (void))                                         \
    X(hipPeekAtLastError, (void))                                      \
    X(hipDriverGetVersion, (int*))                                     \
    X(hipMalloc, (void**, size_t))                                     \
    X(hipFree, (void*))                                                \
    X(hipHostMalloc, (void**, size_t, unsigned int))                   \
    X(hipHostFree, (void*))                                            \
    X(hipMemcpy, (void*, const void*, size_t, int))                    \
    X(hipMemcpyAsync, (void*, const void*, size_t, int, handle_t))     \
    X(hipMemset, (void*, int, size_t))                                 \
    X(hipMemsetAsync, (void*, int, size_t, handle_t))                  \
    X(hipStreamCreateWithFlags, (handle_t*, unsigned int))             \
    X(hipStreamGetFlags, (handle_t, unsigned int*))                    \
    X(hipStreamDestroy, (handle_t))                                    \
    X(hipStreamSynchronize, (handle_t))                                \
    X(hipStreamQuery, (handle_t))                                      \
    X(hipStreamWaitEvent, (handle_t, handle_t, unsigned int))          \
    X(hipLaunchHostFunc, (handle_t, fn_t, void*))                      \
    X(hipEventCreateWithFlags, (handle_t*, unsigned int))              \
    X(hipEventDestroy, (handle_t))                                     \
    X(hipEventRecord, (handle_t, handle_t))                            \
    X(hipEventQuery, (handle_t))                                       \
    X(hipEventSynchronize, (handle_t))                                 \
    X(hipEventElapsedTime, (float*, handle_t, handle_t))

static struct {
#define DECLARE(name, args) err_t(*name) args;
    HIP_FUNCTIONS(DECLARE)
#undef DECLARE
} hip;

static atomic_ullong g_calls, g_busy_destroys, g_host_fns, g_calls_in_host_fn;
static __thread int t_in_host_fn;
static const char* g_mode = "ok";

static void die(const char* what, const char* detail) {
    fprintf(stderr, "fake_cudart: %s: %s\n", what, detail);
    abort();
}

__attribute__((constructor)) static void fake_init(void) {
    const char* mode = getenv("HIPSEM_FAKE_CUDART_MODE");
    if (mode != NULL && mode[0] != '\0') g_mode = mode;
    const char* path = getenv("HIPSEM_FAKE_CUDART_BACKING");
    if (path == NULL) die("HIPSEM_FAKE_CUDART_BACKING", "not set");
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) die("dlopen", dlerror());
#define RESOLVE(name, args)                                  \
    *(void**)(&hip.name) = dlsym(h, #name);                  \
    if (hip.name == NULL) die("dlsym", #name);
    HIP_FUNCTIONS(RESOLVE)
#undef RESOLVE
    /* The forwarding library enforces rule 6; the backing runtime must not also refuse. */
    void (*policy)(int) = (void (*)(int))dlsym(h, "hipsemCpuSetHostFunctionPolicy");
    if (policy == NULL) die("dlsym", "hipsemCpuSetHostFunctionPolicy");
    policy(1);
    /* Device work takes time (1 GB/s, as HipDevice sets on the CPU runtime), so that
     * HipDevice's memset bandwidth calibration measures something. */
    void (*bandwidth)(double) = (void (*)(double))dlsym(h, "hipsemCpuSetBandwidth");
    if (bandwidth == NULL) die("dlsym", "hipsemCpuSetBandwidth");
    const char* bw = getenv("HIPSEM_FAKE_CUDART_BANDWIDTH"); /* bytes per µs */
    bandwidth(bw != NULL && bw[0] != '\0' ? atof(bw) : 20000.0);
}

__attribute__((destructor)) static void fake_fini(void) {
    const char* path = getenv("HIPSEM_FAKE_CUDART_LOG");
    if (path == NULL) return;
    FILE* f = fopen(path, "w");
    if (f == NULL) return;
    fprintf(f, "calls %llu\nbusy_destroys %llu\nhost_functions %llu\ncalls_in_host_functions %llu\n",
            (unsigned long long)g_calls, (unsigned long long)g_busy_destroys,
            (unsigned long long)g_host_fns, (unsigned long long)g_calls_in_host_fn);
    fclose(f);
}

#define CALL() \
    do { atomic_fetch_add(&g_calls, 1); if (t_in_host_fn) atomic_fetch_add(&g_calls_in_host_fn, 1); } while (0)

EXPORT err_t cudaGetDeviceCount(int* n) {
    CALL();
    if (strcmp(g_mode, "no-driver") == 0) return 35;
    if (strcmp(g_mode, "no-device") == 0) return 100;
    return hip.hipGetDeviceCount(n);
}
EXPORT err_t cudaSetDevice(int d) { CALL(); return hip.hipSetDevice(d); }
EXPORT err_t cudaGetDevice(int* d) { CALL(); return hip.hipGetDevice(d); }
EXPORT err_t cudaDeviceSynchronize(void) { CALL(); return hip.hipDeviceSynchronize(); }
EXPORT err_t cudaGetLastError(void) { CALL(); return hip.hipGetLastError(); }
EXPORT err_t cudaPeekAtLastError(void) { CALL(); return hip.hipPeekAtLastError(); }
EXPORT const char* cudaGetErrorString(err_t e) {
    static __thread char text[64];
    snprintf(text, sizeof text, "fake cudart error %d", e);
    return text;
}
EXPORT err_t cudaDriverGetVersion(int* v) { CALL(); *v = 12040; return 0; }
EXPORT err_t cudaRuntimeGetVersion(int* v) { CALL(); *v = 12040; return 0; }
EXPORT err_t cudaMalloc(void** p, size_t n) { CALL(); return hip.hipMalloc(p, n); }
EXPORT err_t cudaFree(void* p) { CALL(); return hip.hipFree(p); }
EXPORT err_t cudaHostAlloc(void** p, size_t n, unsigned int f) { CALL(); return hip.hipHostMalloc(p, n, f); }
EXPORT err_t cudaFreeHost(void* p) { CALL(); return hip.hipHostFree(p); }
EXPORT err_t cudaMemcpy(void* d, const void* s, size_t n, int k) { CALL(); return hip.hipMemcpy(d, s, n, k); }
EXPORT err_t cudaMemcpyAsync(void* d, const void* s, size_t n, int k, handle_t st) {
    CALL();
    return hip.hipMemcpyAsync(d, s, n, k, st);
}
EXPORT err_t cudaMemset(void* d, int v, size_t n) { CALL(); return hip.hipMemset(d, v, n); }
EXPORT err_t cudaMemsetAsync(void* d, int v, size_t n, handle_t st) {
    CALL();
    return hip.hipMemsetAsync(d, v, n, st);
}
EXPORT err_t cudaStreamCreateWithFlags(handle_t* s, unsigned int f) { CALL(); return hip.hipStreamCreateWithFlags(s, f); }
EXPORT err_t cudaStreamGetFlags(handle_t s, unsigned int* f) { CALL(); return hip.hipStreamGetFlags(s, f); }
EXPORT err_t cudaStreamDestroy(handle_t s) {
    CALL();
    if (hip.hipStreamQuery(s) == 600) atomic_fetch_add(&g_busy_destroys, 1); /* CUDA: no wait */
    return hip.hipStreamDestroy(s);
}
EXPORT err_t cudaStreamSynchronize(handle_t s) { CALL(); return hip.hipStreamSynchronize(s); }
EXPORT err_t cudaStreamQuery(handle_t s) { CALL(); return hip.hipStreamQuery(s); }
EXPORT err_t cudaStreamWaitEvent(handle_t s, handle_t e, unsigned int f) { CALL(); return hip.hipStreamWaitEvent(s, e, f); }

typedef struct { fn_t fn; void* data; } box_t;
static void fake_host_fn(void* arg) {
    box_t b = *(box_t*)arg;
    free(arg);
    atomic_fetch_add(&g_host_fns, 1);
    t_in_host_fn = 1;
    b.fn(b.data);
    t_in_host_fn = 0;
}
EXPORT err_t cudaLaunchHostFunc(handle_t s, fn_t fn, void* data) {
    CALL();
    box_t* b = malloc(sizeof *b);
    b->fn = fn;
    b->data = data;
    err_t e = hip.hipLaunchHostFunc(s, fake_host_fn, b);
    if (e != 0) free(b);
    return e;
}
EXPORT err_t cudaEventCreateWithFlags(handle_t* e, unsigned int f) { CALL(); return hip.hipEventCreateWithFlags(e, f); }
EXPORT err_t cudaEventDestroy(handle_t e) { CALL(); return hip.hipEventDestroy(e); }
EXPORT err_t cudaEventRecord(handle_t e, handle_t s) { CALL(); return hip.hipEventRecord(e, s); }
EXPORT err_t cudaEventQuery(handle_t e) { CALL(); return hip.hipEventQuery(e); }
EXPORT err_t cudaEventSynchronize(handle_t e) { CALL(); return hip.hipEventSynchronize(e); }
EXPORT err_t cudaEventElapsedTime(float* ms, handle_t a, handle_t b) { CALL(); return hip.hipEventElapsedTime(ms, a, b); }
