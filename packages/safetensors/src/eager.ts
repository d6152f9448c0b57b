import type { TensorPlan } from "./encode-header.js"
import { SafetensorsReader } from "./reader.js"
import { writeSafetensors } from "./writer.js"

/** Whole-file helpers for small checkpoints held in memory as float32. */
export interface TensorData {
  readonly shape: readonly number[]
  readonly data: Float32Array // row-major, length = prod(shape)
}

export interface SafetensorsFile {
  /** In header order. */
  readonly tensors: Map<string, TensorData>
  readonly metadata: Record<string, string>
}

/**
 * Write `tensors` (in iteration order) as F32 with string `metadata` (`__metadata__` first in the header,
 * omitted when empty); atomic (temp file + rename), parent directory created.
 */
export async function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorData> | Readonly<Record<string, TensorData>>,
  metadata: Readonly<Record<string, string>> = {}
): Promise<void> {
  const entries: Array<[string, TensorData]> =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, TensorData>)
  const plan: Array<TensorPlan & { data: Float32Array }> = entries.map(([name, t]) => ({ name, shape: t.shape, dtype: "F32", data: t.data }))
  await writeSafetensors(path, plan, (t) => t.data, metadata)
}

/** Read every tensor (F32, F16 and BF16 as float32) and the metadata; the header is validated first. */
export async function loadSafetensors(path: string): Promise<SafetensorsFile> {
  const reader = SafetensorsReader.open(path)
  try {
    const tensors = new Map<string, TensorData>()
    for (const [name, info] of reader.tensors) tensors.set(name, { shape: [...info.shape], data: reader.read(name) })
    return { tensors, metadata: { ...reader.metadata } }
  } finally {
    reader.close()
  }
}
