import type { PGlite } from '@electric-sql/pglite'

/**
 * The tables of sagas and idempotency keys as the service's migrations create them (msvc checks
 * that these statements are the ones it generates): for tests of the kit that run without a
 * service's migrations.
 */
export const SAGA_TABLES_DDL: readonly string[] = [
  `CREATE TABLE "sagas" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"state" text NOT NULL,
	"input" jsonb NOT NULL,
	"outputs" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"step" integer DEFAULT 0 NOT NULL,
	"attempt" integer DEFAULT 1 NOT NULL,
	"compensating_from" integer,
	"error" text,
	"runner" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
`,
  `CREATE TABLE "saga_steps" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"saga_id" text NOT NULL,
	"step" text NOT NULL,
	"phase" text NOT NULL,
	"attempt" integer NOT NULL,
	"runner" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"outcome" text,
	"error" text,
	"duration_ms" double precision
);
`,
  `CREATE TABLE "saga_runners" (
	"runner" text PRIMARY KEY NOT NULL,
	"heartbeat_at" timestamp with time zone NOT NULL
);
`,
  `CREATE TABLE "idempotency_keys" (
	"key" text PRIMARY KEY NOT NULL,
	"operation" text NOT NULL,
	"answer" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
`,
  `CREATE INDEX "sagas_open_idx" ON "sagas" USING btree ("next_attempt_at") WHERE "sagas"."finished_at" is null;`,
  `CREATE INDEX "sagas_state_idx" ON "sagas" USING btree ("state","created_at");`,
  `CREATE INDEX "saga_steps_saga_idx" ON "saga_steps" USING btree ("saga_id","seq");`,
  `CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");`,
]

/** Creates the saga and idempotency tables in a PGlite database. */
export async function createSagaTables(client: PGlite): Promise<void> {
  for (const statement of SAGA_TABLES_DDL) await client.exec(statement)
}
