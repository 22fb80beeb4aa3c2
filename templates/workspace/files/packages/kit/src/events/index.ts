export * from './envelope.js'
export * from './seen-ids.js'
export * from './bus.js'
export * from './memory.js'
