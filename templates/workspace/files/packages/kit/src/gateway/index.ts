export * from './auth.js'
export * from './rate-limit.js'
export * from './proxy.js'
