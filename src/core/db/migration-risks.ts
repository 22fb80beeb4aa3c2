/**
 * What a generated migration may do to data already stored, named before anyone applies it: sync
 * prints one line per risky statement. drizzle-kit writes the statements; this reads its SQL.
 */

const RISKS: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^DROP TABLE "([^"]+)"/i, (m) => `drops table ${m[1]} and every row in it`],
  [/^ALTER TABLE "([^"]+)" DROP COLUMN "([^"]+)"/i, (m) => `drops column ${m[1]}.${m[2]} and its data`],
  [
    /^ALTER TABLE "([^"]+)" ALTER COLUMN "([^"]+)" SET DATA TYPE ([^;]+)/i,
    (m) => `changes ${m[1]}.${m[2]} to ${m[3]!.trim()}: fails on a stored value that does not convert`,
  ],
  [
    /^ALTER TABLE "([^"]+)" ALTER COLUMN "([^"]+)" SET NOT NULL/i,
    (m) => `makes ${m[1]}.${m[2]} required: fails while a stored row has none`,
  ],
  [
    /^ALTER TABLE "([^"]+)" ADD COLUMN "([^"]+)" (?!(?:big|small)?serial\b)(?:(?!DEFAULT)[^;])*NOT NULL(?:(?!DEFAULT)[^;])*;?$/i,
    (m) => `adds required ${m[1]}.${m[2]} with no default: fails while the table has rows`,
  ],
  [
    /^ALTER TABLE "([^"]+)" ADD CONSTRAINT "([^"]+)" UNIQUE/i,
    (m) => `adds unique constraint ${m[2]} on ${m[1]}: fails while stored rows repeat a value`,
  ],
]

/** One line per statement of `sql` (a drizzle-kit migration) that may lose or refuse stored data. */
export function migrationRisks(sql: string): string[] {
  const out: string[] = []
  for (const statement of sql.split('--> statement-breakpoint')) {
    const s = statement.trim()
    for (const [re, say] of RISKS) {
      const m = re.exec(s)
      if (m) {
        out.push(say(m))
        break
      }
    }
  }
  return out
}
