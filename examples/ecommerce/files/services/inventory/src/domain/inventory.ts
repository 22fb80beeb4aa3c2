import { ConflictError } from '@shop/kit'
import { InventoryCrud } from './inventory.crud.js'
import type {
  Inventory,
  InventoryOperations,
  ReleaseInventoriesInput,
  ReserveInventoriesInput,
} from './inventory.model.js'

/**
 * The inventory service's logic: stock per SKU, part of it reserved by orders. An operation runs in
 * one transaction, so an order whose second item is short reserves none of its items.
 */
export class InventoryService extends InventoryCrud implements InventoryOperations {
  /** Reserves every item of an order; a SKU unknown or short refuses the whole order (409). */
  async reserve(input: ReserveInventoriesInput): Promise<Inventory[]> {
    const changed: Inventory[] = []
    for (const line of input.items) {
      const item = await this.bySku(line.sku)
      if (!item) throw new ConflictError(`order ${input.orderId}: no stock of ${line.sku}`)
      const free = item.stock - item.reserved
      if (free < line.quantity)
        throw new ConflictError(`order ${input.orderId}: only ${free} of ${line.sku} left`)
      changed.push(await this.change(item, { reserved: item.reserved + line.quantity }))
    }
    return changed
  }

  /** Gives an order's items back (the compensation of reserve). */
  async release(input: ReleaseInventoriesInput): Promise<Inventory[]> {
    const changed: Inventory[] = []
    for (const line of input.items) {
      const item = await this.bySku(line.sku)
      if (item)
        changed.push(await this.change(item, { reserved: Math.max(0, item.reserved - line.quantity) }))
    }
    return changed
  }

  /** The record of a SKU, read again by id so that the operation's transaction locks it. */
  private async bySku(sku: string): Promise<Inventory | undefined> {
    const [found] = (await this.list({ limit: 1, filter: { sku } })).items
    return found && this.get(found.id)
  }
}
