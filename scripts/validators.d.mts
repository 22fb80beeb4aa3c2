export interface ValidatorSpec {
  out: string
  schemaModule: string
  exportName: string
  options: Record<string, unknown>
}
export const VALIDATORS: ValidatorSpec[]
export function loadSchema(root: string, v: ValidatorSpec): Promise<unknown>
export function generateValidator(schema: unknown, options: Record<string, unknown>): string
