import { encode } from "./dtypes.js"
import { writeAll, writeAtomically } from "./atomic-file.js"
import { encodeHeader, type TensorPlan } from "./encode-header.js"
import { SafetensorsError } from "./errors.js"

/**
 * Streamed safetensors writing: the header (encode-header.ts) is built from names, shapes and dtypes
 * alone, then `values(t, i)` is asked for each tensor in order and its float32 values are converted to
 * t.dtype and written before the next is asked for, so only one tensor's data is in memory at a time.
 * The file is replaced atomically (atomic-file.ts). Returns the file size in bytes.
 */
export type TensorValues<T extends TensorPlan> = (tensor: T, index: number) => Float32Array | Promise<Float32Array>

export async function writeSafetensors<T extends TensorPlan>(
  path: string,
  tensors: readonly T[],
  values: TensorValues<T>,
  metadata: Readonly<Record<string, string>> = {}
): Promise<number> {
  const header = encodeHeader(path, tensors, metadata) // throws before anything is written
  return writeAtomically(path, async (fh) => {
    await writeAll(path, fh, header.bytes)
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]
      const v = await values(t, i)
      const need = t.shape.reduce((a, b) => a * b, 1)
      if (!(v instanceof Float32Array) || v.length !== need) {
        const got = v instanceof Float32Array ? `${v.length} values` : `a ${Object.prototype.toString.call(v).slice(8, -1)}`
        throw new SafetensorsError({ file: path, tensor: t.name, reason: `data has ${got}, shape [${t.shape}] needs ${need} float32 values` })
      }
      await writeAll(path, fh, encode(v, t.dtype))
    }
  })
}
