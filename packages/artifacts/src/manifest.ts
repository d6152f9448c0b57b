import { Schema } from "effect"

/** Versions of the libraries that shape an artifact's bytes, recorded in every manifest. */
export const LibraryVersions = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * `manifest.json` beside an artifact's data. It says what the artifact is and everything that made it:
 * its key is the hash of stage name + stage version + parameters + input keys.
 */
export const ManifestSchema = Schema.Struct({
  kind: Schema.String,
  schemaVersion: Schema.Number,
  key: Schema.String,
  stage: Schema.Struct({ name: Schema.String, version: Schema.String }),
  params: Schema.Unknown,
  inputs: Schema.Record({ key: Schema.String, value: Schema.String }),
  rowCount: Schema.Number,
  /** every data file (path relative to the artifact), its size in bytes and its xxhash64 (16 hex digits) */
  files: Schema.Array(Schema.Struct({ path: Schema.String, size: Schema.Number, xxh64: Schema.String })),
  createdAt: Schema.String,
  wallSeconds: Schema.Number,
  libraries: LibraryVersions,
  meta: Schema.optional(Schema.Unknown)
})
export type Manifest = Schema.Schema.Type<typeof ManifestSchema>

export type FileEntry = Manifest["files"][number]

/** A committed artifact: where it lives and what its manifest says. */
export interface ArtifactRef {
  readonly kind: string
  readonly key: string
  readonly dir: string
  readonly manifest: Manifest
}
