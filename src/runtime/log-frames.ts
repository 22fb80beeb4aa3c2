/** Splits Docker's multiplexed log frames (8-byte headers) into text. */
export function demuxBuffer(buf: Buffer): string {
  if (!Buffer.isBuffer(buf)) return String(buf)
  let out = ''
  let i = 0
  while (i + 8 <= buf.length) {
    const type = buf[i]
    const size = buf.readUInt32BE(i + 4)
    if (type !== 0 && type !== 1 && type !== 2) return buf.toString() // a TTY container: raw
    out += buf.subarray(i + 8, i + 8 + size).toString()
    i += 8 + size
  }
  return out
}
