import { describe, expect, it } from 'vitest'
import { migrationRisks } from './migration-risks.js'

const migration = (...statements: string[]) => statements.join('\n--> statement-breakpoint\n') + '\n'

describe('migrationRisks', () => {
  it('names each statement that may lose or refuse stored data', () => {
    expect(
      migrationRisks(
        migration(
          'ALTER TABLE "orders" DROP COLUMN "tags";',
          'ALTER TABLE "orders" ALTER COLUMN "quantity" SET DATA TYPE text;',
          'ALTER TABLE "orders" ALTER COLUMN "sku" SET NOT NULL;',
          'ALTER TABLE "orders" ADD COLUMN "note" text NOT NULL;',
          'ALTER TABLE "orders" ADD CONSTRAINT "orders_sku_unique" UNIQUE("sku");',
          'DROP TABLE "stocks" CASCADE;',
        ),
      ),
    ).toEqual([
      'drops column orders.tags and its data',
      'changes orders.quantity to text: fails on a stored value that does not convert',
      'makes orders.sku required: fails while a stored row has none',
      'adds required orders.note with no default: fails while the table has rows',
      'adds unique constraint orders_sku_unique on orders: fails while stored rows repeat a value',
      'drops table stocks and every row in it',
    ])
  })

  it('says nothing of what keeps every stored row', () => {
    expect(
      migrationRisks(
        migration(
          'ALTER TABLE "orders" ADD COLUMN "note" text;',
          'ALTER TABLE "orders" ADD COLUMN "seq" bigserial NOT NULL;',
          'ALTER TABLE "orders" ADD COLUMN "reserved" bigint DEFAULT 0 NOT NULL;',
          'ALTER TABLE "orders" ALTER COLUMN "sku" DROP NOT NULL;',
          'CREATE TABLE "stocks" ("id" uuid PRIMARY KEY NOT NULL);',
        ),
      ),
    ).toEqual([])
  })
})
