/**
 * Minimal Thrift compact-protocol writer, enough for the Parquet footer and page headers.
 * Usage: `w.structBegin(); w.i32(1, 4); w.string(4, "x"); w.structEnd()`; nested structs and
 * struct lists keep their own last-field-id on a stack, as the protocol requires.
 */
const T_TRUE = 1
const T_FALSE = 2
const T_I32 = 5
const T_I64 = 6
const T_BINARY = 8
const T_LIST = 9
const T_STRUCT = 12

export type ListElem = "i32" | "string" | "struct"
const elemCode: Record<ListElem, number> = { i32: T_I32, string: T_BINARY, struct: T_STRUCT }

const utf8 = new TextEncoder()

export class ThriftWriter {
  private buf = new Uint8Array(1024)
  private len = 0
  private lastField: number[] = []
  private last = 0

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  private byte(b: number): void {
    this.ensure(1)
    this.buf[this.len++] = b
  }

  /** Unsigned varint of a non-negative integer below 2^53 (arithmetic, not bit ops, past 2^31). */
  private varint(n: number): void {
    this.ensure(10)
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.buf[this.len++] = n
  }

  private zigzag(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`thrift integer out of range: ${n}`)
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1)
  }

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.last
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type)
    else {
      this.byte(type)
      this.zigzag(id)
    }
    this.last = id
  }

  private bytesRaw(b: Uint8Array): void {
    this.varint(b.length)
    this.ensure(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
  }

  structBegin(): void {
    this.lastField.push(this.last)
    this.last = 0
  }

  structEnd(): void {
    this.byte(0) // STOP
    this.last = this.lastField.pop() ?? 0
  }

  bool(id: number, v: boolean): void {
    this.fieldHeader(id, v ? T_TRUE : T_FALSE)
  }

  i32(id: number, v: number): void {
    this.fieldHeader(id, T_I32)
    this.zigzag(v)
  }

  i64(id: number, v: number): void {
    this.fieldHeader(id, T_I64)
    this.zigzag(v)
  }

  string(id: number, v: string): void {
    this.fieldHeader(id, T_BINARY)
    this.bytesRaw(utf8.encode(v))
  }

  binary(id: number, v: Uint8Array): void {
    this.fieldHeader(id, T_BINARY)
    this.bytesRaw(v)
  }

  /** Begin a nested struct field; close it with structEnd(). */
  structField(id: number): void {
    this.fieldHeader(id, T_STRUCT)
    this.structBegin()
  }

  /** List header; then write `size` elements with listI32/listString, or structBegin/structEnd each. */
  listBegin(id: number, elem: ListElem, size: number): void {
    this.fieldHeader(id, T_LIST)
    const code = elemCode[elem]
    if (size < 15) this.byte((size << 4) | code)
    else {
      this.byte(0xf0 | code)
      this.varint(size)
    }
  }

  listI32(v: number): void {
    this.zigzag(v)
  }

  listString(v: string): void {
    this.bytesRaw(utf8.encode(v))
  }

  /** The bytes written so far (a copy-free view). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
}
