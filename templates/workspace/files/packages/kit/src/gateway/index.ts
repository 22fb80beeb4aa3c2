export * from './auth.js'
export * from './rate-limit.js'
