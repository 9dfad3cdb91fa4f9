"""hipsem's hardware backend: the device protocol over hip-python, with real threads.

Modules:
* `hipbackend.runtime`: choose the HIP runtime hip-python binds to (`select_runtime`).
* `hipbackend.cpu_runtime`: build hipsem's CPU runtime, a test vehicle with the HIP ABI.
* `hipbackend.device`: `HipDevice`, the `model.device.Device` implementation.
* `hipbackend.errors`: `hip_check`, the hipError_t -> StatusCode table, typed errors.
* `hipbackend.hostfn`: the host-function trampoline and host-function context.

Importing this package loads no HIP library; hip-python binds one on the first HIP call
(see `hipbackend.runtime`). docs/hardware.md describes the backend.
"""
