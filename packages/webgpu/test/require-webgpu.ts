/**
 * Whether the WebGPU suites run. They do unless CONCEPTSCOPE_SKIP_WEBGPU=1: a machine without Dawn's
 * adapter then fails them with what to install (CI installs lavapipe), rather than passing silently.
 */
export const requireWebgpu = (): boolean => process.env.CONCEPTSCOPE_SKIP_WEBGPU !== "1"
