/** The shared e2e workspace: every combination of capabilities, plus calls and events. */
export const E2E_SERVICES: { name: string; flags: string[] }[] = [
  {
    name: 'order',
    flags: [
      '--http',
      '--grpc',
      '--events',
      '--publishes',
      'order.created',
      '--subscribes',
      'payment.processed',
      '--description',
      'Takes and tracks customer orders',
      // the e2e tests start order and payment as processes and in stacks of their own: in memory
      '--store',
      'memory',
    ],
  },
  {
    name: 'payment',
    flags: [
      '--http',
      '--events',
      '--publishes',
      'payment.processed',
      '--subscribes',
      'order.created',
      '--store',
      'memory',
    ],
  },
  // a name of 24 characters: templates stay prettier-clean up to that length (docs/templates.md);
  // its aggregate has every kind of field and operation (docs/model.md), built, linted and tested
  {
    name: 'stock-positions-of-items',
    flags: [
      '--http',
      '--grpc',
      '--fields',
      'sku:string!,quantity:integer,reserved:integer=0,tags:string[],location:{aisle:string!,shelf:integer},' +
        'kind:enum(raw|finished)=raw,checkedAt:timestamp,batch:uuid,price:number!,active:boolean',
      '--operations',
      'reserve(sku:string!,quantity:integer!),release(quantity:integer!)~,*recount(note:string,skus:string[])',
    ],
  },
  // postgres (the default with a resource): its tests run on PGlite, its stack has catalog-db
  { name: 'catalog', flags: ['--http'] },
  { name: 'ledger', flags: ['--grpc', '--store', 'memory'] },
  { name: 'notifier', flags: ['--events', '--subscribes', 'order.created'] },
  { name: 'audit', flags: ['--grpc', '--events', '--subscribes', 'payment.processed'] },
  { name: 'beacon', flags: ['--capabilities', 'none'] },
  // events that it publishes and handles none of (issue #13: an unused import in its tests);
  // shipping.dispatched carries objects and arrays (E2E_NESTED_EVENT)
  { name: 'shipping', flags: ['--events', '--publishes', 'shipping.dispatched'] },
  {
    name: 'checkout',
    flags: ['--http', '--calls', 'order,payment', '--resource', 'carts', '--store', 'memory'],
  },
  // issue #16: the entry point; its generated code is built, linted and tested with the rest, and
  // test/e2e/gateway.test.ts puts order's replicas behind it
  { name: 'gateway', flags: ['--gateway'] },
]

/**
 * The services every other e2e test reaches on their own published ports: with a gateway in the
 * workspace they publish nothing unless msvc.yaml says `publish: true` (global-setup.ts does).
 */
export const E2E_PUBLISHED = E2E_SERVICES.map((s) => s.name).filter((n) => n !== 'gateway')

/** Services built on another image than the default node:24-slim (`runtime:` in msvc.yaml). */
export const E2E_RUNTIME_IMAGES: Record<string, string> = { payment: 'node:22-slim' }

/** An event whose payload has objects and arrays, optional and required (docs/events.md). */
export const E2E_NESTED_EVENT = {
  type: 'shipping.dispatched',
  schema: {
    id: 'string',
    parcels: '{weight:number,labels:string[],fragile:boolean?}[]',
    carrier: '{name:string,tracking:{code:string,url:string?}}',
    note: 'string?',
  },
}
