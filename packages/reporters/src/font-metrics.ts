/**
 * Text widths from a TrueType font's own advance widths, for vega's layout.
 *
 * Without a canvas, vega guesses every text is 0.8 em per character, about 40% wider than
 * DejaVu Sans really is: panels get pushed apart and labels truncated too early. Like vl-convert,
 * we hand vega a width function; ours reads the advance widths (cmap format 4 + hmtx) of the
 * regular and bold font files that resvg will draw with, so layout and pixels agree.
 */
import { readFileSync } from "node:fs"

export interface FontMetrics {
  /** advance width of `text` at `fontSize` px */
  width(text: string, fontSize: number): number
}

/** Parse the advance widths of a TrueType/OpenType (glyf or CFF) font file. */
export const parseFontMetrics = (bytes: Uint8Array): FontMetrics => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const u16 = (o: number) => view.getUint16(o)
  const i16 = (o: number) => view.getInt16(o)
  const numTables = u16(4)
  const tables = new Map<string, number>()
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i
    const tag = String.fromCharCode(bytes[rec], bytes[rec + 1], bytes[rec + 2], bytes[rec + 3])
    tables.set(tag, view.getUint32(rec + 8))
  }
  const need = (tag: string) => {
    const o = tables.get(tag)
    if (o === undefined) throw new Error(`font has no '${tag}' table`)
    return o
  }
  const unitsPerEm = u16(need("head") + 18)
  const numberOfHMetrics = u16(need("hhea") + 34)
  const hmtx = need("hmtx")
  const advanceOfGlyph = (g: number) => u16(hmtx + 4 * Math.min(g, numberOfHMetrics - 1))

  // cmap: the Unicode BMP subtable in format 4
  const cmap = need("cmap")
  let sub = -1
  for (let i = 0; i < u16(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i
    const platform = u16(rec)
    const encoding = u16(rec + 2)
    const off = cmap + view.getUint32(rec + 4)
    if (u16(off) === 4 && ((platform === 3 && encoding === 1) || platform === 0)) {
      sub = off
      break
    }
  }
  if (sub < 0) throw new Error("font has no format-4 Unicode cmap")
  const segCount = u16(sub + 6) / 2
  const endCodes = sub + 14
  const startCodes = endCodes + 2 * segCount + 2
  const idDeltas = startCodes + 2 * segCount
  const idRangeOffsets = idDeltas + 2 * segCount
  const glyphOf = (c: number): number => {
    if (c > 0xffff) return 0
    for (let i = 0; i < segCount; i++) {
      if (u16(endCodes + 2 * i) < c) continue
      const start = u16(startCodes + 2 * i)
      if (start > c) return 0
      const delta = i16(idDeltas + 2 * i)
      const ro = u16(idRangeOffsets + 2 * i)
      if (ro === 0) return (c + delta) & 0xffff
      const g = u16(idRangeOffsets + 2 * i + ro + 2 * (c - start))
      return g === 0 ? 0 : (g + delta) & 0xffff
    }
    return 0
  }
  const cache = new Map<number, number>()
  const advance = (c: number): number => {
    let a = cache.get(c)
    if (a === undefined) {
      a = advanceOfGlyph(glyphOf(c)) / unitsPerEm
      cache.set(c, a)
    }
    return a
  }
  return {
    width(text, fontSize) {
      let em = 0
      for (const ch of text) em += advance(ch.codePointAt(0) ?? 0)
      return em * fontSize
    }
  }
}

export const loadFontMetrics = (file: string): FontMetrics => parseFontMetrics(readFileSync(file))

/** Regular and bold metrics; bold falls back to regular. */
export interface FontPair {
  regular: FontMetrics
  bold: FontMetrics
}

/** The shape of a vega scenegraph item as the width function sees it. */
interface TextItem {
  fontSize?: number | string
  fontWeight?: string | number
}

/** A vega `textMetrics.width` replacement measuring with `fonts`. */
export const vegaTextWidth =
  (fonts: FontPair) =>
  (item: TextItem, text: unknown): number => {
    const size = item.fontSize != null ? +item.fontSize || 0 : 11
    const s = text == null ? "" : String(text).trim()
    const w = item.fontWeight
    const bold = w === "bold" || w === "bolder" || (typeof w === "number" && w >= 600) || (typeof w === "string" && Number(w) >= 600)
    return (bold ? fonts.bold : fonts.regular).width(s, size)
  }
