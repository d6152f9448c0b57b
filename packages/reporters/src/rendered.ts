/** A figure after rendering, as the HTML and Markdown writers see it. */
export interface RenderedFigure {
  name: string
  heading: string
  caption: string
  /** null when the data was absent; `absent` then says why */
  svg: string | null
  absent: string
  /** paths relative to the report directory */
  svgFile: string | null
  pngFile: string | null
}

/** Escape text for HTML element content and attribute values. */
export const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")
