import { benchActivationStore } from "../src/bench"
for (let i = 0; i < 3; i++) console.log(await benchActivationStore({ rows: 700, dModel: 4096, dir: "/tmp/asbench", layers: 4 }))
console.log("8 layers", await benchActivationStore({ rows: 700, dModel: 4096, dir: "/tmp/asbench", layers: 8 }))
