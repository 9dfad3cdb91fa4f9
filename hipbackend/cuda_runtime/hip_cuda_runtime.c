/*
 * hip_cuda_runtime.c: the HIP runtime subset hipsem uses, forwarded to NVIDIA's CUDA
 * runtime (libcudart), so that hip-python, hipbackend.HipDevice and the hardware tests
 * run unchanged on an NVIDIA GPU. HIP on NVIDIA is normally header-only (hipcc maps hip*
 * to cuda* at compile time); hip-python needs a libamdhip64.so to dlopen, and this is
 * one: hipbackend/cuda_runtime/__init__.py compiles it on demand, with soname
 * libamdhip64.so, and hipbackend.runtime.select_runtime("cuda") points hip-python at it.
 *
 * libcudart is loaded at run time with dlopen (hipsemCudaLoad(path), else
 * $HIPSEM_CUDART, else libcudart.so.13, .so.12, .so): no CUDA header or library is
 * needed to build it. The few CUDA types and prototypes used are declared below, with
 * the ABI facts they rely on.
 *
 * Semantics: HIP's are CUDA's (DESIGN.md, rules 1-4 and 7 hold for CUDA as written in
 * the CUDA runtime reference), except:
 *  5. Host functions: CUDA does not promise one host-function thread per process; the
 *     trampoline below runs every host function under one process-wide mutex, so host
 *     functions of all streams are serialized, as on ROCm/Linux.
 *  6. A host function must not call the API. CUDA returns cudaErrorNotPermitted for some
 *     calls and hangs on others; here, as in hipsem's CPU runtime, any HIP call made by
 *     a thread while it runs a host function is counted (hipsemCudaHostFunctionApiCalls)
 *     and refused with hipErrorIllegalState (HIP has no 800 = cudaErrorNotPermitted, and
 *     hip-python rejects numbers outside hipError_t), unless
 *     hipsemCudaSetHostFunctionPolicy(1) lets it through.
 *  8. hipStreamDestroy blocks until the stream's work is done (cudaStreamDestroy returns
 *     at once and releases the stream later): cudaStreamSynchronize, then destroy.
 * Errors: cudaError_t is translated by ONE table (k_errors) into hipError_t; a CUDA code
 * not in the table becomes hipErrorUnknown. hipGetErrorString prefers libcudart's own
 * text for the CUDA code the HIP code came from.
 *
 * Thread safety: every entry point may be called from any thread. The library state is
 * the loaded libcudart (set once under g_load_lock, then read-only), atomic counters, the
 * host-function mutex and thread-local flags.
 *
 * References: CUDA Runtime API reference (cuda_runtime_api.h, driver_types.h; CUDA 12),
 * HIP's hip_runtime_api.h and hip/driver_types.h (hipError_t numbers), ROCm clr
 * hipamd/src/hip_stream.cpp (hipStreamDestroy waits), docs/hardware.md.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
#define HIPSEM_CUDA_RUNTIME_NAME "hipsem-cuda-runtime 1 (HIP subset forwarded to libcudart)"

/* ------------------------------------------------------------------ HIP ABI */

/* hipError_t is a C enum, passed and returned as int (hip/driver_types.h). */
typedef int hipError_t;
enum {
    hipSuccess = 0,
    hipErrorInvalidValue = 1,
    hipErrorNotInitialized = 3,
    hipErrorInsufficientDriver = 35,
    hipErrorInvalidHandle = 400,
    hipErrorIllegalState = 401,
    hipErrorNotReady = 600,
    hipErrorUnknown = 999,
};
/* Opaque handles: HIP's and CUDA's are both pointers to driver structs, passed through
 * unchanged (a hipStream_t here IS a cudaStream_t, NULL the legacy default stream). */
typedef void* hipStream_t;
typedef void* hipEvent_t;
typedef void (*hipHostFn_t)(void* userData);

/* ------------------------------------------------------------------ CUDA ABI */

/*
 * cudaError_t is `enum cudaError` (driver_types.h): int-sized. cudaStream_t and
 * cudaEvent_t are pointers to opaque structs (CUstream_st, CUevent_st). cudaHostFn_t is
 * `void (CUDART_CB *)(void*)`; CUDART_CB is empty on Linux. cudaMemcpyKind numbers
 * (HostToHost 0, HostToDevice 1, DeviceToHost 2, DeviceToDevice 3, Default 4), stream
 * flags (cudaStreamNonBlocking 1), event flags (Default 0, BlockingSync 1,
 * DisableTiming 2, Interprocess 4) and cudaHostAlloc flags (Default 0, Portable 1,
 * Mapped 2, WriteCombined 4) are HIP's numbers too, so flags pass through unchanged.
 * Every entry point below exists under this plain name, with these prototypes, in
 * libcudart.so.12 and .so.13 (the _ptsz / _ptds variants are only selected by headers
 * compiled with per-thread default streams); the numbers were checked against CUDA
 * 13.0's driver_types.h and cuda_runtime_api.h.
 */
typedef int cudaError_t;
typedef void* cudaStream_t;
typedef void* cudaEvent_t;
typedef void (*cudaHostFn_t)(void*);
enum { cudaSuccess = 0, cudaErrorNotReady = 600 };

#define CUDA_FUNCTIONS(X)                                                          \
    X(cudaGetDeviceCount, cudaError_t, (int*))                                     \
    X(cudaSetDevice, cudaError_t, (int))                                           \
    X(cudaGetDevice, cudaError_t, (int*))                                          \
    X(cudaDeviceSynchronize, cudaError_t, (void))                                  \
    X(cudaGetLastError, cudaError_t, (void))                                       \
    X(cudaPeekAtLastError, cudaError_t, (void))                                    \
    X(cudaGetErrorString, const char*, (cudaError_t))                              \
    X(cudaDriverGetVersion, cudaError_t, (int*))                                   \
    X(cudaRuntimeGetVersion, cudaError_t, (int*))                                  \
    X(cudaMalloc, cudaError_t, (void**, size_t))                                   \
    X(cudaFree, cudaError_t, (void*))                                              \
    X(cudaHostAlloc, cudaError_t, (void**, size_t, unsigned int))                  \
    X(cudaFreeHost, cudaError_t, (void*))                                          \
    X(cudaMemcpy, cudaError_t, (void*, const void*, size_t, int))                  \
    X(cudaMemcpyAsync, cudaError_t, (void*, const void*, size_t, int, cudaStream_t)) \
    X(cudaMemset, cudaError_t, (void*, int, size_t))                               \
    X(cudaMemsetAsync, cudaError_t, (void*, int, size_t, cudaStream_t))            \
    X(cudaStreamCreateWithFlags, cudaError_t, (cudaStream_t*, unsigned int))       \
    X(cudaStreamGetFlags, cudaError_t, (cudaStream_t, unsigned int*))              \
    X(cudaStreamDestroy, cudaError_t, (cudaStream_t))                              \
    X(cudaStreamSynchronize, cudaError_t, (cudaStream_t))                          \
    X(cudaStreamQuery, cudaError_t, (cudaStream_t))                                \
    X(cudaStreamWaitEvent, cudaError_t, (cudaStream_t, cudaEvent_t, unsigned int)) \
    X(cudaLaunchHostFunc, cudaError_t, (cudaStream_t, cudaHostFn_t, void*))        \
    X(cudaEventCreateWithFlags, cudaError_t, (cudaEvent_t*, unsigned int))         \
    X(cudaEventDestroy, cudaError_t, (cudaEvent_t))                                \
    X(cudaEventRecord, cudaError_t, (cudaEvent_t, cudaStream_t))                   \
    X(cudaEventQuery, cudaError_t, (cudaEvent_t))                                  \
    X(cudaEventSynchronize, cudaError_t, (cudaEvent_t))                            \
    X(cudaEventElapsedTime, cudaError_t, (float*, cudaEvent_t, cudaEvent_t))

typedef struct cuda_api {
#define DECLARE(name, ret, args) ret(*name) args;
    CUDA_FUNCTIONS(DECLARE)
#undef DECLARE
} cuda_api_t;

/* ------------------------------------------------------------------ the error table */

typedef struct error_row {
    cudaError_t cuda;
    hipError_t hip;
    const char* hip_name;
    const char* text; /* used when libcudart is not loaded (or for HIP-only rows) */
} error_row_t;

/* One row per CUDA code hipsem can meet; numbers from driver_types.h (CUDA 12) and
 * hip/driver_types.h. Where both have the code, the number is the same. */
static const error_row_t k_errors[] = {
    {0, 0, "hipSuccess", "no error"},
    {1, 1, "hipErrorInvalidValue", "invalid argument"},
    {2, 2, "hipErrorOutOfMemory", "out of memory"},
    {3, 3, "hipErrorNotInitialized", "initialization error"},
    {4, 4, "hipErrorDeinitialized", "driver shutting down"},
    {9, 9, "hipErrorInvalidConfiguration", "invalid configuration argument"},
    {12, 12, "hipErrorInvalidPitchValue", "invalid pitch argument"},
    {13, 13, "hipErrorInvalidSymbol", "invalid device symbol"},
    {17, 17, "hipErrorInvalidDevicePointer", "invalid device pointer"},
    {21, 21, "hipErrorInvalidMemcpyDirection", "invalid copy direction for memcpy"},
    {35, 35, "hipErrorInsufficientDriver",
     "CUDA driver version is insufficient for CUDA runtime version"},
    {52, 52, "hipErrorMissingConfiguration", "__global__ function call is not configured"},
    {53, 53, "hipErrorPriorLaunchFailure", "unspecified launch failure in prior launch"},
    {98, 98, "hipErrorInvalidDeviceFunction", "invalid device function"},
    {100, 100, "hipErrorNoDevice", "no CUDA-capable device is detected"},
    {101, 101, "hipErrorInvalidDevice", "invalid device ordinal"},
    {200, 200, "hipErrorInvalidImage", "device kernel image is invalid"},
    {201, 201, "hipErrorInvalidContext", "invalid device context"},
    {214, 214, "hipErrorECCNotCorrectable", "uncorrectable ECC error encountered"},
    {304, 304, "hipErrorOperatingSystem", "OS call failed or operation not supported"},
    {400, 400, "hipErrorInvalidHandle", "invalid resource handle"},
    {401, 401, "hipErrorIllegalState", "the operation cannot be performed in the present state"},
    {500, 500, "hipErrorNotFound", "named symbol not found"},
    {600, 600, "hipErrorNotReady", "device not ready"},
    {700, 700, "hipErrorIllegalAddress", "an illegal memory access was encountered"},
    {701, 701, "hipErrorLaunchOutOfResources", "too many resources requested for launch"},
    {702, 702, "hipErrorLaunchTimeOut", "the launch timed out and was terminated"},
    {704, 704, "hipErrorPeerAccessAlreadyEnabled", "peer access is already enabled"},
    {705, 705, "hipErrorPeerAccessNotEnabled", "peer access has not been enabled"},
    {709, 709, "hipErrorContextIsDestroyed", "context is destroyed"},
    {710, 710, "hipErrorAssert", "device-side assert triggered"},
    {712, 712, "hipErrorHostMemoryAlreadyRegistered", "host memory already registered"},
    {713, 713, "hipErrorHostMemoryNotRegistered", "host memory not registered"},
    {719, 719, "hipErrorLaunchFailure", "unspecified launch failure"},
    {801, 801, "hipErrorNotSupported", "operation not supported"},
    {900, 900, "hipErrorStreamCaptureUnsupported", "operation not permitted when stream is capturing"},
    {999, 999, "hipErrorUnknown", "unknown error"},
    /* CUDA codes HIP lacks, after the canonical rows (a HIP code's first row is its own) */
    {34, 35, "hipErrorInsufficientDriver", "CUDA driver is a stub library"},
    {46, 100, "hipErrorNoDevice", "CUDA-capable device(s) is/are busy or unavailable"},
    {800, 401, "hipErrorIllegalState", "operation not permitted"},
    {803, 35, "hipErrorInsufficientDriver",
     "system has unsupported display driver / cuda driver combination"},
};
#define N_ERRORS (sizeof(k_errors) / sizeof(k_errors[0]))

static const char* const k_host_fn_text =
    "the operation is not permitted in the current state (hipsem CUDA runtime: also the "
    "answer to a HIP call from inside a host function)";

/* ------------------------------------------------------------------ state */

static pthread_mutex_t g_load_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_loaded; /* 1 once g_cuda is complete (then read-only) */
static cuda_api_t g_cuda;
static void* g_handle;
static char g_loaded_path[4096];
static char g_load_error[4096];

static pthread_mutex_t g_host_fn_lock = PTHREAD_MUTEX_INITIALIZER; /* serializes rule 5 */
static atomic_int g_host_fn_policy; /* 0: refuse HIP calls from host functions, 1: allow */
static atomic_ullong g_host_fn_api_calls;
static atomic_ullong g_host_fns_run;
static atomic_ullong g_api_calls;

static __thread int t_in_host_fn;
static __thread hipError_t t_last_error; /* errors produced here, not by libcudart */

/* ------------------------------------------------------------------ loading */

static int load_locked(const char* path) {
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(g_load_error, sizeof g_load_error, "cannot load %s: %s", path, dlerror());
        return 0;
    }
    cuda_api_t api;
#define RESOLVE(name, ret, args)                                                     \
    *(void**)(&api.name) = dlsym(h, #name);                                          \
    if (api.name == NULL) {                                                          \
        snprintf(g_load_error, sizeof g_load_error, "%s does not export %s (not a "  \
                 "CUDA runtime >= 10?)", path, #name);                               \
        dlclose(h);                                                                  \
        return 0;                                                                    \
    }
    CUDA_FUNCTIONS(RESOLVE)
#undef RESOLVE
    g_cuda = api;
    g_handle = h;
    snprintf(g_loaded_path, sizeof g_loaded_path, "%s", path);
    g_load_error[0] = '\0';
    atomic_store(&g_loaded, 1);
    return 1;
}

/* Load libcudart from `path` (NULL: $HIPSEM_CUDART, else the default names). Returns 1
 * on success (also if already loaded), 0 with hipsemCudaLoadError() saying why. */
EXPORT int hipsemCudaLoad(const char* path) {
    if (atomic_load(&g_loaded)) return 1;
    pthread_mutex_lock(&g_load_lock);
    int ok = atomic_load(&g_loaded);
    if (!ok && path != NULL && path[0] != '\0') {
        ok = load_locked(path);
    } else if (!ok) {
        const char* env = getenv("HIPSEM_CUDART");
        if (env != NULL && env[0] != '\0') {
            ok = load_locked(env);
        } else {
            ok = load_locked("libcudart.so.13") || load_locked("libcudart.so.12") ||
                 load_locked("libcudart.so");
        }
    }
    pthread_mutex_unlock(&g_load_lock);
    return ok;
}

EXPORT const char* hipsemCudaLoadError(void) { return g_load_error; }
EXPORT const char* hipsemCudaLoadedPath(void) { return g_loaded_path; }
EXPORT const char* hipsemCudaRuntimeName(void) { return HIPSEM_CUDA_RUNTIME_NAME; }

/* ------------------------------------------------------------------ helpers */

static hipError_t own(hipError_t err) { /* an error produced by this library */
    if (err != hipSuccess && err != hipErrorNotReady) t_last_error = err;
    return err;
}

static const error_row_t* row_of_cuda(cudaError_t e) {
    for (size_t i = 0; i < N_ERRORS; i++)
        if (k_errors[i].cuda == e) return &k_errors[i];
    return NULL;
}

static const error_row_t* row_of_hip(hipError_t e) {
    for (size_t i = 0; i < N_ERRORS; i++)
        if (k_errors[i].hip == e) return &k_errors[i];
    return NULL;
}

static hipError_t from_cuda(cudaError_t e) {
    if (e == cudaSuccess) return hipSuccess;
    const error_row_t* r = row_of_cuda(e);
    return r != NULL ? r->hip : hipErrorUnknown;
}

/* Every HIP entry point starts with ENTER(): call accounting, the rule-6 check, and a
 * loaded libcudart (else hipErrorInsufficientDriver, as HIP says without a driver). */
#define ENTER()                                                        \
    do {                                                               \
        atomic_fetch_add(&g_api_calls, 1);                             \
        if (t_in_host_fn) {                                            \
            atomic_fetch_add(&g_host_fn_api_calls, 1);                 \
            if (atomic_load(&g_host_fn_policy) == 0)                   \
                return own(hipErrorIllegalState);                      \
        }                                                              \
        if (!atomic_load(&g_loaded) && !hipsemCudaLoad(NULL))          \
            return own(hipErrorInsufficientDriver);                    \
    } while (0)

#define FORWARD(call) return from_cuda(g_cuda.call)

/* ------------------------------------------------------------------ device, errors */

EXPORT hipError_t hipInit(unsigned int flags) {
    ENTER();
    if (flags != 0) return own(hipErrorInvalidValue);
    int n = 0;
    FORWARD(cudaGetDeviceCount(&n)); /* initializes the CUDA runtime */
}

EXPORT hipError_t hipDriverGetVersion(int* v) { ENTER(); FORWARD(cudaDriverGetVersion(v)); }
EXPORT hipError_t hipRuntimeGetVersion(int* v) { ENTER(); FORWARD(cudaRuntimeGetVersion(v)); }
EXPORT hipError_t hipGetDeviceCount(int* n) { ENTER(); FORWARD(cudaGetDeviceCount(n)); }
EXPORT hipError_t hipSetDevice(int id) { ENTER(); FORWARD(cudaSetDevice(id)); }
EXPORT hipError_t hipGetDevice(int* id) { ENTER(); FORWARD(cudaGetDevice(id)); }
EXPORT hipError_t hipDeviceSynchronize(void) { ENTER(); FORWARD(cudaDeviceSynchronize()); }

EXPORT hipError_t hipGetLastError(void) {
    ENTER();
    hipError_t mine = t_last_error;
    t_last_error = hipSuccess;
    hipError_t theirs = from_cuda(g_cuda.cudaGetLastError()); /* also resets CUDA's */
    return mine != hipSuccess ? mine : theirs;
}

EXPORT hipError_t hipPeekAtLastError(void) {
    ENTER();
    return t_last_error != hipSuccess ? t_last_error : from_cuda(g_cuda.cudaPeekAtLastError());
}

EXPORT const char* hipGetErrorName(hipError_t e) {
    const error_row_t* r = row_of_hip(e);
    return r != NULL ? r->hip_name : "hipErrorUnknown";
}

EXPORT const char* hipGetErrorString(hipError_t e) {
    if (e == hipErrorIllegalState) return k_host_fn_text;
    const error_row_t* r = row_of_hip(e);
    if (r == NULL) return "unknown error";
    if (atomic_load(&g_loaded)) return g_cuda.cudaGetErrorString(r->cuda);
    return r->text;
}

/* ------------------------------------------------------------------ memory */

EXPORT hipError_t hipMalloc(void** p, size_t size) { ENTER(); FORWARD(cudaMalloc(p, size)); }
EXPORT hipError_t hipFree(void* p) { ENTER(); FORWARD(cudaFree(p)); } /* syncs, as HIP's */

EXPORT hipError_t hipHostMalloc(void** p, size_t size, unsigned int flags) {
    ENTER();
    FORWARD(cudaHostAlloc(p, size, flags));
}

EXPORT hipError_t hipHostFree(void* p) { ENTER(); FORWARD(cudaFreeHost(p)); }

static int memcpy_kind(int kind) { /* hipMemcpyDeviceToDeviceNoCU (1024): a D2D copy */
    return kind == 1024 ? 3 : kind;
}

EXPORT hipError_t hipMemcpy(void* dst, const void* src, size_t size, int kind) {
    ENTER();
    FORWARD(cudaMemcpy(dst, src, size, memcpy_kind(kind)));
}

EXPORT hipError_t hipMemcpyAsync(void* dst, const void* src, size_t size, int kind,
                                 hipStream_t s) {
    ENTER();
    FORWARD(cudaMemcpyAsync(dst, src, size, memcpy_kind(kind), s));
}

EXPORT hipError_t hipMemset(void* dst, int value, size_t size) {
    ENTER();
    FORWARD(cudaMemset(dst, value, size));
}

EXPORT hipError_t hipMemsetAsync(void* dst, int value, size_t size, hipStream_t s) {
    ENTER();
    FORWARD(cudaMemsetAsync(dst, value, size, s));
}

/* ------------------------------------------------------------------ streams */

EXPORT hipError_t hipStreamCreateWithFlags(hipStream_t* s, unsigned int flags) {
    ENTER();
    FORWARD(cudaStreamCreateWithFlags(s, flags));
}

EXPORT hipError_t hipStreamCreate(hipStream_t* s) {
    ENTER();
    FORWARD(cudaStreamCreateWithFlags(s, 0));
}

EXPORT hipError_t hipStreamGetFlags(hipStream_t s, unsigned int* flags) {
    ENTER();
    FORWARD(cudaStreamGetFlags(s, flags));
}

/* Rule 8: HIP's hipStreamDestroy waits for the stream's work; CUDA's does not. */
EXPORT hipError_t hipStreamDestroy(hipStream_t s) {
    ENTER();
    if (s == NULL) return own(hipErrorInvalidHandle); /* HIP: the NULL stream is not destroyable */
    cudaError_t synced = g_cuda.cudaStreamSynchronize(s);
    cudaError_t destroyed = g_cuda.cudaStreamDestroy(s);
    return from_cuda(destroyed != cudaSuccess ? destroyed : synced);
}

EXPORT hipError_t hipStreamSynchronize(hipStream_t s) { ENTER(); FORWARD(cudaStreamSynchronize(s)); }
EXPORT hipError_t hipStreamQuery(hipStream_t s) { ENTER(); FORWARD(cudaStreamQuery(s)); }

EXPORT hipError_t hipStreamWaitEvent(hipStream_t s, hipEvent_t e, unsigned int flags) {
    ENTER();
    FORWARD(cudaStreamWaitEvent(s, e, flags));
}

/* ------------------------------------------------------------------ host functions */

typedef struct host_call {
    hipHostFn_t fn;
    void* data;
} host_call_t;

/* Runs on CUDA's host-function thread: marks the thread (rule 6), serializes (rule 5). */
static void host_trampoline(void* arg) {
    host_call_t call = *(host_call_t*)arg;
    free(arg);
    pthread_mutex_lock(&g_host_fn_lock);
    t_in_host_fn = 1;
    call.fn(call.data);
    t_in_host_fn = 0;
    atomic_fetch_add(&g_host_fns_run, 1);
    pthread_mutex_unlock(&g_host_fn_lock);
}

EXPORT hipError_t hipLaunchHostFunc(hipStream_t s, hipHostFn_t fn, void* data) {
    ENTER();
    if (fn == NULL) return own(hipErrorInvalidValue);
    host_call_t* call = malloc(sizeof *call);
    if (call == NULL) return own(2); /* hipErrorOutOfMemory */
    call->fn = fn;
    call->data = data;
    cudaError_t err = g_cuda.cudaLaunchHostFunc(s, host_trampoline, call);
    if (err != cudaSuccess) free(call); /* not enqueued: it will never run */
    return from_cuda(err);
}

/* ------------------------------------------------------------------ events */

EXPORT hipError_t hipEventCreateWithFlags(hipEvent_t* e, unsigned int flags) {
    ENTER();
    FORWARD(cudaEventCreateWithFlags(e, flags));
}

EXPORT hipError_t hipEventCreate(hipEvent_t* e) { ENTER(); FORWARD(cudaEventCreateWithFlags(e, 0)); }
EXPORT hipError_t hipEventDestroy(hipEvent_t e) { ENTER(); FORWARD(cudaEventDestroy(e)); }
EXPORT hipError_t hipEventRecord(hipEvent_t e, hipStream_t s) { ENTER(); FORWARD(cudaEventRecord(e, s)); }
EXPORT hipError_t hipEventQuery(hipEvent_t e) { ENTER(); FORWARD(cudaEventQuery(e)); }
EXPORT hipError_t hipEventSynchronize(hipEvent_t e) { ENTER(); FORWARD(cudaEventSynchronize(e)); }

EXPORT hipError_t hipEventElapsedTime(float* ms, hipEvent_t start, hipEvent_t stop) {
    ENTER();
    FORWARD(cudaEventElapsedTime(ms, start, stop));
}

/* ------------------------------------------------------------------ hipsem extras */

EXPORT unsigned long long hipsemCudaHostFunctionApiCalls(void) {
    return atomic_load(&g_host_fn_api_calls);
}
EXPORT void hipsemCudaResetHostFunctionApiCalls(void) { atomic_store(&g_host_fn_api_calls, 0); }
EXPORT unsigned long long hipsemCudaHostFunctionsRun(void) { return atomic_load(&g_host_fns_run); }
EXPORT unsigned long long hipsemCudaApiCalls(void) { return atomic_load(&g_api_calls); }
EXPORT void hipsemCudaSetHostFunctionPolicy(int allow) { atomic_store(&g_host_fn_policy, allow != 0); }
EXPORT int hipsemCudaGetHostFunctionPolicy(void) { return atomic_load(&g_host_fn_policy); }
EXPORT int hipsemCudaInHostFunction(void) { return t_in_host_fn; }

/* Row i of the error table (for tests): 1 and the row's fields, or 0 past the end. */
EXPORT int hipsemCudaErrorRow(int i, int* cuda, int* hip, const char** hip_name) {
    if (i < 0 || (size_t)i >= N_ERRORS) return 0;
    *cuda = k_errors[i].cuda;
    *hip = k_errors[i].hip;
    *hip_name = k_errors[i].hip_name;
    return 1;
}

/* The HIP code libcudart's `cuda` code becomes (for tests). */
EXPORT int hipsemCudaTranslate(int cuda) { return from_cuda(cuda); }
