export * from './types.js'
export * from './memory.js'
export * from './postgres.js'
