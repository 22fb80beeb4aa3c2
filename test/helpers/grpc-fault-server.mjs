// A stand-in for the order service that misbehaves on purpose, for resilience tests of the
// generated client: it serves the generated OrderService definition (from a bundle of
// @shop/clients) with handlers that fail or stall as the request asks.
//   getOrder { id: 'unavailable' }  -> UNAVAILABLE        getOrder { id: 'stall-<ms>' } -> waits, then OK
//   createOrder { name: 'unavailable' } -> UNAVAILABLE     listOrders -> UNAVAILABLE while FAULT=unavailable
//   getOrder { id: 'counts' } -> the calls seen so far, as JSON in order.name
// Usage: node grpc-fault-server.mjs <clients-bundle.mjs> <port>
import { Server, ServerCredentials, status } from '@grpc/grpc-js'
import { setTimeout } from 'node:timers'
import { pathToFileURL } from 'node:url'

const [bundle, port] = process.argv.slice(2)
const api = await import(pathToFileURL(bundle).href)
const counts = { createOrder: 0, getOrder: 0, listOrders: 0, updateOrder: 0, deleteOrder: 0 }
const order = (id, name) => ({
  id,
  name,
  description: '',
  status: 'active',
  version: 1,
  createTime: '',
  updateTime: '',
})
const unavailable = (cb) => cb({ code: status.UNAVAILABLE, details: 'failing on purpose' })

const server = new Server()
server.addService(api.order.OrderServiceService, {
  getOrder(call, cb) {
    const { id } = call.request
    if (id === 'counts') return cb(null, { order: order('counts', JSON.stringify(counts)) })
    counts.getOrder++
    if (id === 'unavailable') return unavailable(cb)
    const stall = /^stall-(\d+)$/.exec(id)
    if (stall) return setTimeout(() => cb(null, { order: order(id, 'late') }), Number(stall[1]))
    cb(null, { order: order(id, 'ok') })
  },
  createOrder(call, cb) {
    counts.createOrder++
    if (call.request.name === 'unavailable') return unavailable(cb)
    cb(null, { order: order('new', call.request.name) })
  },
  listOrders(_call, cb) {
    counts.listOrders++
    if (process.env.FAULT === 'unavailable') return unavailable(cb)
    cb(null, { orders: [], nextPageToken: '' })
  },
  updateOrder(_call, cb) {
    counts.updateOrder++
    unavailable(cb)
  },
  deleteOrder(_call, cb) {
    counts.deleteOrder++
    unavailable(cb)
  },
})
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err.message)
    process.exit(1)
  }
  console.log('listening')
})
process.on('SIGTERM', () => server.forceShutdown() || process.exit(0))
