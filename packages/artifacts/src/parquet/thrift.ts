/**
 * Minimal Thrift compact-protocol writer, enough for the Parquet footer and page headers, and a
 * minimal reader (field headers, integers, skipping any value), enough for a page header.
 * Writer usage: `w.structBegin(); w.i32(1, 4); w.string(4, "x"); w.structEnd()`; nested structs and
 * struct lists keep their own last-field-id on a stack, as the protocol requires.
 */
const T_STOP = 0
const T_TRUE = 1
const T_FALSE = 2
const T_BYTE = 3
const T_I16 = 4
const T_I32 = 5
const T_I64 = 6
const T_DOUBLE = 7
const T_BINARY = 8
const T_LIST = 9
const T_SET = 10
const T_MAP = 11
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

/** Field header of a struct being read: its id and compact type code (T_STOP ends the struct). */
export interface FieldHeader {
  id: number
  type: number
}

const isInteger = (type: number): boolean => type === T_BYTE || type === T_I16 || type === T_I32 || type === T_I64

/** Deepest struct/list nesting `skip` follows before it calls the input malformed. */
const MAX_DEPTH = 64

/**
 * Minimal Thrift compact-protocol reader over `bytes` from `offset`. Every read checks bounds and
 * throws a RangeError on truncated or malformed input. Usage: `r.structBegin()`, then
 * `r.field()` until its type is STOP (`r.structEnd()`), reading or `skip`ping each value.
 */
export class ThriftReader {
  private lastField: number[] = []
  private last = 0

  constructor(
    private readonly bytes: Uint8Array,
    public offset = 0
  ) {}

  private byte(): number {
    if (this.offset >= this.bytes.length) throw new RangeError("thrift input truncated")
    return this.bytes[this.offset++]
  }

  /** Unsigned varint below 2^53 (arithmetic, not bit ops, past 2^31). */
  private varint(): number {
    let n = 0
    let scale = 1
    for (;;) {
      const b = this.byte()
      n += (b & 0x7f) * scale
      if (b < 0x80) break
      scale *= 0x80
      if (scale > 2 ** 56) throw new RangeError("thrift varint too long")
    }
    if (!Number.isSafeInteger(n)) throw new RangeError("thrift integer out of range")
    return n
  }

  /** Skip a varint of up to 10 bytes (any i64) without decoding it. */
  private skipVarint(): void {
    for (let k = 0; k < 10; k++) if (this.byte() < 0x80) return
    throw new RangeError("thrift varint too long")
  }

  private zigzag(): number {
    const n = this.varint()
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2
  }

  structBegin(): void {
    this.lastField.push(this.last)
    this.last = 0
  }

  structEnd(): void {
    this.last = this.lastField.pop() ?? 0
  }

  /** Next field header; `type === 0` (STOP) ends the struct. */
  field(): FieldHeader {
    const b = this.byte()
    const type = b & 0x0f
    if (type === T_STOP) return { id: 0, type }
    const delta = b >> 4
    this.last = delta > 0 ? this.last + delta : this.zigzag()
    return { id: this.last, type }
  }

  /** An i32 value; a byte, i16 or i64 field is accepted when its value fits an i32. `type` is the field's type code. */
  i32(type: number): number {
    if (!isInteger(type)) throw new RangeError(`thrift type ${type} where i32 expected`)
    const v = type === T_BYTE ? (this.byte() << 24) >> 24 : this.zigzag()
    if (v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`thrift i32 out of range: ${v}`)
    return v
  }

  /** An i32 value as `i32`, or undefined (the value skipped) when the field is not an integer. */
  optI32(type: number): number | undefined {
    if (isInteger(type)) return this.i32(type)
    this.skip(type)
    return undefined
  }

  /** Skip one value of compact type `type` (a field's value, or a list/set/map element). */
  skip(type: number, depth = 0): void {
    if (depth > MAX_DEPTH) throw new RangeError("thrift nesting too deep")
    switch (type) {
      case T_TRUE:
      case T_FALSE:
        return // a field's bool lives in its header
      case T_BYTE:
        this.byte()
        return
      case T_I16:
      case T_I32:
      case T_I64:
        this.skipVarint()
        return
      case T_DOUBLE:
        this.advance(8)
        return
      case T_BINARY:
        this.advance(this.varint())
        return
      case T_LIST:
      case T_SET: {
        const h = this.byte()
        const size = h >> 4 === 15 ? this.varint() : h >> 4
        const elem = h & 0x0f
        for (let i = 0; i < size; i++) this.skipElement(elem, depth + 1)
        return
      }
      case T_MAP: {
        const size = this.varint()
        if (size === 0) return
        const kv = this.byte()
        for (let i = 0; i < size; i++) {
          this.skipElement(kv >> 4, depth + 1)
          this.skipElement(kv & 0x0f, depth + 1)
        }
        return
      }
      case T_STRUCT:
        this.structBegin()
        for (let f = this.field(); f.type !== T_STOP; f = this.field()) this.skip(f.type, depth + 1)
        this.structEnd()
        return
      default:
        throw new RangeError(`unknown thrift type ${type}`)
    }
  }

  /** A list/set/map element: a bool takes one byte there (not a header), everything else as skip. */
  private skipElement(type: number, depth: number): void {
    if (type === T_TRUE || type === T_FALSE) this.byte()
    else this.skip(type, depth)
  }

  private advance(n: number): void {
    if (this.offset + n > this.bytes.length) throw new RangeError("thrift input truncated")
    this.offset += n
  }
}
