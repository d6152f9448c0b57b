/** Constants of the Parquet format and of this writer's layout. */
import type { Column, ColumnInfo } from "./table.js"

/** `created_by` of files written here; the reader's fast path keys on its prefix. */
export const CREATED_BY_PREFIX = "conceptscope-parquet"
export const CREATED_BY = `${CREATED_BY_PREFIX} version 1.0.0`
/** Footer key holding the JSON ColumnInfo[] (keeps vector dims, even with zero rows). Hidden from readers' kvMetadata. */
export const COLUMNS_KEY = "conceptscope.columns"

export const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]) // "PAR1"

// parquet.thrift enums
export const PhysicalType = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6 } as const
export const Repetition = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const
export const Converted = { UTF8: 0, LIST: 3 } as const
export const Encoding = { PLAIN: 0, RLE: 3 } as const
export const PAGE_DATA = 0
/** Names of the PageType and Encoding enum values, by number (for messages). */
export const PAGE_TYPE_NAMES = ["DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2"] as const
export const ENCODING_NAMES = [
  "PLAIN",
  "GROUP_VAR_INT",
  "PLAIN_DICTIONARY",
  "RLE",
  "BIT_PACKED",
  "DELTA_BINARY_PACKED",
  "DELTA_LENGTH_BYTE_ARRAY",
  "DELTA_BYTE_ARRAY",
  "RLE_DICTIONARY",
  "BYTE_STREAM_SPLIT"
] as const
export const CODEC_UNCOMPRESSED = 0

/** Physical type of a column's leaf. */
export const physicalType = (c: Column | ColumnInfo): number => {
  switch (c.type) {
    case "int32":
      return PhysicalType.INT32
    case "int64":
      return PhysicalType.INT64
    case "float32":
    case "vector":
      return PhysicalType.FLOAT
    case "float64":
      return PhysicalType.DOUBLE
    case "bool":
      return PhysicalType.BOOLEAN
    case "string":
      return PhysicalType.BYTE_ARRAY
  }
}

/** path_in_schema of a column's leaf: vectors use the standard 3-level LIST. */
export const leafPath = (c: Column | ColumnInfo): string[] => (c.type === "vector" ? [c.name, "list", "element"] : [c.name])
