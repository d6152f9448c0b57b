export * from "./rng"
export * from "./hooks"
export * from "./progress"
