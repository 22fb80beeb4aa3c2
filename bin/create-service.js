#!/usr/bin/env node
// When the flags ask for a grpc service, ts-proto's plugin (~150 ms of loading) starts before the
// CLI itself loads, so both load at once (issue #2: scaffolding under 300 ms). The CLI decides the
// rest and stops the plugin if it is not used.
const { argvWantsGrpc, warmPluginsFor } = await import('../dist/warm-plugin.js')
const warm = warmPluginsFor(argvWantsGrpc(process.argv.slice(2)) ? 1 : 0)
const { main } = await import('../dist/cli.js')
process.exitCode = await main('create-service', { warm })
