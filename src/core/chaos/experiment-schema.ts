// The JSON Schema of a chaos experiment file; validate-experiment.gen.ts is compiled from it
// (npm run gen:validators).
import { FAULT_KINDS } from './faults.js'

export const ROLLBACK_ACTIONS = ['restart', 'start', 'unpause', 'wait-healthy'] as const

const str = { type: 'string' }
const durOrStr = { type: ['string', 'number'] }
const PROBE = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: str,
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        service: str,
        url: str,
        path: str,
        method: { type: 'string', enum: ['GET', 'HEAD', 'POST'] },
        expect: { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' }, minItems: 1 }] },
        maxLatency: str,
        timeout: str,
        value: str,
        is: durOrStr,
      },
    },
    metric: {
      type: 'object',
      additionalProperties: false,
      required: ['service', 'series', 'expect'],
      properties: { service: str, path: str, series: str, expect: durOrStr },
    },
    load: {
      type: 'object',
      additionalProperties: false,
      required: ['service', 'rate', 'duration'],
      properties: {
        service: str,
        path: str,
        method: { type: 'string', enum: ['GET', 'POST'] },
        body: { type: ['string', 'object'] },
        expect: { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' }, minItems: 1 }] },
        rate: { type: 'number', exclusiveMinimum: 0, maximum: 10000 },
        duration: str,
        thresholds: { type: 'array', items: str },
      },
    },
  },
} as const

/** JSON Schema of an experiment file (shape only; meaning is checked in code, with both sides named). */
export const EXPERIMENT_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'msvc chaos experiment',
  type: 'object',
  additionalProperties: false,
  required: ['hypothesis', 'method'],
  properties: {
    title: str,
    description: str,
    hypothesis: { type: 'array', minItems: 1, items: PROBE },
    method: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['at'],
        properties: {
          at: durOrStr,
          fault: { type: 'string', enum: [...FAULT_KINDS] },
          service: str,
          for: str,
          signal: str,
          delay: str,
          jitter: str,
          percent: str,
          rate: str,
          from: str,
          replica: { type: 'integer', minimum: 1 },
          all: { type: 'boolean' },
          probe: PROBE,
          within: str,
        },
      },
    },
    rollbacks: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['action', 'service'],
        properties: { action: { type: 'string', enum: [...ROLLBACK_ACTIONS] }, service: str, timeout: str },
      },
    },
    settings: {
      type: 'object',
      additionalProperties: false,
      properties: { recoveryTimeout: str },
    },
  },
} as const
