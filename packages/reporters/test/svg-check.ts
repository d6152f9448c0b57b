/** Small, independent checks of SVG / PNG bytes used by the tests. */

/** Tag-balance check of an XML document: every open tag closed in order, one root. Returns the problem or null. */
export const xmlProblem = (xml: string): string | null => {
  const stack: string[] = []
  let roots = 0
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m
    if (closing) {
      const top = stack.pop()
      if (top !== name) return `closing </${name}> but open <${top}>`
    } else if (!selfClosing) {
      if (stack.length === 0) roots++
      stack.push(name)
    } else if (stack.length === 0) roots++
  }
  if (stack.length > 0) return `unclosed <${stack[stack.length - 1]}>`
  if (roots !== 1) return `${roots} root elements`
  return null
}

export const countTag = (xml: string, tag: string): number => xml.split(`<${tag}`).length - 1

/** Contents of every <text> element, entities decoded. */
export const svgTexts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&")
  )

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

/** Width and height from a PNG's IHDR chunk (bytes 16-23), or null when it is not a PNG. */
export const pngSize = (bytes: Uint8Array): { width: number; height: number } | null => {
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return null
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { width: v.getUint32(16), height: v.getUint32(20) }
}

/** width / height attributes of the root <svg>. */
export const svgSize = (svg: string): { width: number; height: number } => {
  const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg)
  if (!m) throw new Error("svg has no width/height")
  return { width: Number(m[1]), height: Number(m[2]) }
}
