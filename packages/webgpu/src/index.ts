export { type AdapterReport, describeAdapter, INSTALL_DAWN, INSTALL_VULKAN, noHardwareGpu, startDawn, WebgpuUnavailable } from "./dawn.js"
export { installWebgpuKernels, uninstallWebgpuKernels, WGSL_KERNELS } from "./install.js"
export { activateWebgpu } from "./activate.js"
