export * from "./concept-means"
export * from "./patching"
