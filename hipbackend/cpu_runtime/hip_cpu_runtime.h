/*
 * hip_cpu_runtime.h: ABI of hipsem's CPU build of a HIP runtime subset.
 *
 * TEST VEHICLE ONLY. This is not HIP and not a GPU emulator: it is a small library with
 * the HIP runtime's C ABI (names, hipError_t values, opaque handle types, hipHostFn_t)
 * for the calls hipsem's HIP backend makes, so that hip-python can load it as
 * libamdhip64.so on a machine with no GPU and no ROCm. Device memory is host memory,
 * "device work" is memcpy/memset plus an optional sleep, and there are no kernels.
 *
 * The hipError_t numbers are HIP's (hip/hip_runtime_api.h); only the values this file
 * returns are listed. hipsem* functions are extras for tests and calibration.
 */
#ifndef HIPSEM_HIP_CPU_RUNTIME_H
#define HIPSEM_HIP_CPU_RUNTIME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIPSEM_EXPORT __attribute__((visibility("default")))

typedef enum hipError_t {
    hipSuccess = 0,
    hipErrorInvalidValue = 1,
    hipErrorOutOfMemory = 2,
    hipErrorNotInitialized = 3,
    hipErrorDeinitialized = 4,
    hipErrorInvalidMemcpyDirection = 21,
    hipErrorNoDevice = 100,
    hipErrorInvalidDevice = 101,
    hipErrorInvalidContext = 201,
    hipErrorECCNotCorrectable = 214,
    hipErrorInvalidHandle = 400, /* == hipErrorInvalidResourceHandle */
    hipErrorIllegalState = 401,
    hipErrorNotFound = 500,
    hipErrorNotReady = 600,
    hipErrorIllegalAddress = 700,
    hipErrorLaunchOutOfResources = 701,
    hipErrorLaunchTimeOut = 702,
    hipErrorContextIsDestroyed = 709,
    hipErrorAssert = 710,
    hipErrorLaunchFailure = 719,
    hipErrorNotSupported = 801,
    hipErrorUnknown = 999,
} hipError_t;

/*
 * What a HIP call made from inside a host function returns (DESIGN.md rule 6), under
 * the default policy (see hipsemCpuSetHostFunctionPolicy).
 * CUDA would say cudaErrorNotPermitted (800), but HIP's hipError_t has no value 800 and
 * hip-python raises ValueError when a call returns a number outside its enum, so the
 * CPU runtime answers with HIP's hipErrorIllegalState ("the calling context does not
 * allow this call"). hipsemCpuHostFunctionApiCalls() counts these calls.
 */
#define HIPSEM_HOST_FUNCTION_ERROR hipErrorIllegalState

typedef struct ihipStream_t* hipStream_t;
typedef struct ihipEvent_t* hipEvent_t;
typedef void (*hipHostFn_t)(void* userData);

typedef enum hipMemcpyKind {
    hipMemcpyHostToHost = 0,
    hipMemcpyHostToDevice = 1,
    hipMemcpyDeviceToHost = 2,
    hipMemcpyDeviceToDevice = 3,
    hipMemcpyDefault = 4,
} hipMemcpyKind;

#define hipStreamDefault 0x0u
#define hipStreamNonBlocking 0x1u
#define hipEventDefault 0x0u
#define hipEventBlockingSync 0x1u
#define hipEventDisableTiming 0x2u
#define hipEventInterprocess 0x4u

/* Device and runtime. */
HIPSEM_EXPORT hipError_t hipInit(unsigned int flags);
HIPSEM_EXPORT hipError_t hipDriverGetVersion(int* driverVersion);
HIPSEM_EXPORT hipError_t hipRuntimeGetVersion(int* runtimeVersion);
HIPSEM_EXPORT hipError_t hipGetDeviceCount(int* count);
HIPSEM_EXPORT hipError_t hipSetDevice(int deviceId);
HIPSEM_EXPORT hipError_t hipGetDevice(int* deviceId);
HIPSEM_EXPORT hipError_t hipDeviceSynchronize(void);
HIPSEM_EXPORT hipError_t hipGetLastError(void);
HIPSEM_EXPORT hipError_t hipPeekAtLastError(void);
HIPSEM_EXPORT const char* hipGetErrorName(hipError_t error);
HIPSEM_EXPORT const char* hipGetErrorString(hipError_t error);

/* Memory (all of it is host memory). */
HIPSEM_EXPORT hipError_t hipMalloc(void** ptr, size_t size);
HIPSEM_EXPORT hipError_t hipFree(void* ptr);
HIPSEM_EXPORT hipError_t hipHostMalloc(void** ptr, size_t size, unsigned int flags);
HIPSEM_EXPORT hipError_t hipHostFree(void* ptr);
HIPSEM_EXPORT hipError_t hipMemcpy(void* dst, const void* src, size_t size, hipMemcpyKind kind);
HIPSEM_EXPORT hipError_t hipMemcpyAsync(void* dst, const void* src, size_t size,
                                        hipMemcpyKind kind, hipStream_t stream);
HIPSEM_EXPORT hipError_t hipMemset(void* dst, int value, size_t size);
HIPSEM_EXPORT hipError_t hipMemsetAsync(void* dst, int value, size_t size, hipStream_t stream);

/* Streams. */
HIPSEM_EXPORT hipError_t hipStreamCreate(hipStream_t* stream);
HIPSEM_EXPORT hipError_t hipStreamCreateWithFlags(hipStream_t* stream, unsigned int flags);
HIPSEM_EXPORT hipError_t hipStreamGetFlags(hipStream_t stream, unsigned int* flags);
HIPSEM_EXPORT hipError_t hipStreamDestroy(hipStream_t stream);
HIPSEM_EXPORT hipError_t hipStreamSynchronize(hipStream_t stream);
HIPSEM_EXPORT hipError_t hipStreamQuery(hipStream_t stream);
HIPSEM_EXPORT hipError_t hipStreamWaitEvent(hipStream_t stream, hipEvent_t event,
                                            unsigned int flags);
HIPSEM_EXPORT hipError_t hipLaunchHostFunc(hipStream_t stream, hipHostFn_t fn, void* userData);

/* Events. */
HIPSEM_EXPORT hipError_t hipEventCreate(hipEvent_t* event);
HIPSEM_EXPORT hipError_t hipEventCreateWithFlags(hipEvent_t* event, unsigned int flags);
HIPSEM_EXPORT hipError_t hipEventDestroy(hipEvent_t event);
HIPSEM_EXPORT hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream);
HIPSEM_EXPORT hipError_t hipEventQuery(hipEvent_t event);
HIPSEM_EXPORT hipError_t hipEventSynchronize(hipEvent_t event);
HIPSEM_EXPORT hipError_t hipEventElapsedTime(float* ms, hipEvent_t start, hipEvent_t stop);

/* hipsem extras (not HIP): identity, timing knob, rule-6 counter, leak accounting. */
enum hipsemCpuLiveKind {
    HIPSEM_LIVE_STREAMS = 0,
    HIPSEM_LIVE_EVENTS = 1,
    HIPSEM_LIVE_MARKERS = 2,
    HIPSEM_LIVE_ALLOCATIONS = 3,
    HIPSEM_LIVE_COMMANDS = 4,
};
HIPSEM_EXPORT const char* hipsemCpuRuntimeName(void);
HIPSEM_EXPORT void hipsemCpuSetBandwidth(double bytes_per_us);
HIPSEM_EXPORT double hipsemCpuGetBandwidth(void);
HIPSEM_EXPORT unsigned long long hipsemCpuHostFunctionApiCalls(void);
HIPSEM_EXPORT void hipsemCpuResetHostFunctionApiCalls(void);
HIPSEM_EXPORT unsigned long long hipsemCpuHostFunctionsRun(void);
HIPSEM_EXPORT unsigned long long hipsemCpuApiCalls(void);
HIPSEM_EXPORT long long hipsemCpuLiveCount(int kind);
HIPSEM_EXPORT int hipsemCpuInHostFunction(void);
/* 0 (default): refuse HIP calls made inside a host function; 1: count and perform them. */
HIPSEM_EXPORT void hipsemCpuSetHostFunctionPolicy(int allow);
HIPSEM_EXPORT int hipsemCpuGetHostFunctionPolicy(void);
/* Fault injection (docs/faults.md): fail the next HIP call of this thread with err; lose
 * the device after_us from now (every later call but releases fails with err); undo. */
HIPSEM_EXPORT void hipsemCpuFailNextCall(int err);
HIPSEM_EXPORT void hipsemCpuSetDeviceLost(double after_us, int err);
HIPSEM_EXPORT int hipsemCpuDeviceLost(void);
HIPSEM_EXPORT void hipsemCpuClearFaults(void);
/* Device-work faults (sticky stream errors; docs/faults.md): the next command enqueued on
 * `stream` fails with err when the stream runs it (the stream enters its error state) /
 * carries `cookie` into the fault log; a stream's error state (0: none); entry `index`
 * of the fault log (1: it exists), `kind` one of HIPSEM_FAULT_*; empty the log. */
enum hipsemCpuFaultKind { HIPSEM_FAULT_STREAM_ERROR = 1, HIPSEM_FAULT_SKIPPED = 2 };
HIPSEM_EXPORT void hipsemCpuFailNextCommand(hipStream_t stream, int err);
HIPSEM_EXPORT void hipsemCpuTagNextCommand(hipStream_t stream, unsigned long long cookie);
HIPSEM_EXPORT int hipsemCpuStreamError(hipStream_t stream);
HIPSEM_EXPORT int hipsemCpuFaultLogEntry(int index, int* kind, int* err,
                                         unsigned long long* cookie, long long* t_ns);
HIPSEM_EXPORT void hipsemCpuClearFaultLog(void);

#ifdef __cplusplus
}
#endif

#endif /* HIPSEM_HIP_CPU_RUNTIME_H */
