/**
 * An incremental HTTP/1.1 response parser for the load engine: status, then the body framed by
 * Content-Length, chunked transfer encoding, or the end of the connection. It reads only what it
 * needs (status and framing headers) and never keeps a body: bytes are counted, not stored.
 */

const CR = 13
const LF = 10

export interface ParsedResponse {
  status: number
  /** the server said `connection: close`: no more responses on this connection */
  close: boolean
}

const enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

export class ResponseParser {
  private state = State.Head
  private pending: Uint8Array | undefined
  private remaining = 0
  private current: ParsedResponse = { status: 0, close: false }
  /** why parsing stopped; the connection is useless after it */
  error: string | undefined

  constructor(
    private readonly onResponse: (r: ParsedResponse) => void,
    /** false for a response that carries no body whatever its headers say (an answer to HEAD) */
    private readonly expectsBody: () => boolean = () => true,
  ) {}

  /** Feeds bytes as they arrive; calls onResponse for each complete response. */
  feed(chunk: Uint8Array): void {
    let buf = chunk
    if (this.pending) {
      const joined = new Uint8Array(this.pending.length + chunk.length)
      joined.set(this.pending)
      joined.set(chunk, this.pending.length)
      buf = joined
      this.pending = undefined
    }
    let i = 0
    const n = buf.length
    while (i < n && !this.error) {
      switch (this.state) {
        case State.Head: {
          const end = findHeadEnd(buf, i)
          if (end < 0) {
            if (n - i > 65536) this.error = 'response head larger than 64 KiB'
            else this.pending = buf.subarray(i)
            return
          }
          this.parseHead(buf, i, end)
          i = end + 4
          break
        }
        case State.Body: {
          const take = Math.min(this.remaining, n - i)
          i += take
          this.remaining -= take
          if (this.remaining === 0) this.complete()
          break
        }
        case State.ChunkSize:
        case State.Trailers: {
          const eol = indexOfCrlf(buf, i)
          if (eol < 0) {
            this.pending = buf.subarray(i)
            return
          }
          if (this.state === State.Trailers) {
            if (eol === i) this.complete()
          } else {
            let size = 0
            let j = i
            for (; j < eol; j++) {
              const d = hexDigit(buf[j]!)
              if (d < 0) break
              size = size * 16 + d
            }
            if (j === i) {
              this.error = 'bad chunk size'
              return
            }
            if (size === 0) this.state = State.Trailers
            else {
              this.remaining = size
              this.state = State.ChunkData
            }
          }
          i = eol + 2
          break
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, n - i)
          i += take
          this.remaining -= take
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd
            this.remaining = 2
          }
          break
        }
        case State.ChunkDataEnd: {
          const take = Math.min(this.remaining, n - i)
          i += take
          this.remaining -= take
          if (this.remaining === 0) this.state = State.ChunkSize
          break
        }
        case State.UntilClose:
          return
      }
    }
  }

  /** The connection ended: completes a response framed by the close; true when none was cut short. */
  end(): boolean {
    if (this.state === State.UntilClose) {
      this.complete()
      return true
    }
    return this.state === State.Head && !this.pending
  }

  private parseHead(buf: Uint8Array, start: number, end: number): void {
    // "HTTP/1.1 200 OK"
    if (end - start < 12 || buf[start] !== 0x48 || buf[start + 8] !== 0x20) {
      this.error = 'not an HTTP/1.x response'
      return
    }
    const status = (buf[start + 9]! - 48) * 100 + (buf[start + 10]! - 48) * 10 + (buf[start + 11]! - 48)
    let contentLength = -1
    let chunked = false
    let close = buf[start + 7] === 0x30 // HTTP/1.0 closes unless told otherwise
    let line = indexOfCrlf(buf, start) + 2
    while (line > 1 && line < end) {
      const eol = indexOfCrlf(buf, line)
      const stop = eol < 0 || eol > end ? end : eol
      const c = buf[line]! | 0x20
      if (c === 0x63 || c === 0x74) {
        // content-length, connection, transfer-encoding: decode only these lines
        const text = latin1(buf, line, stop)
        const colon = text.indexOf(':')
        if (colon > 0) {
          const name = text.slice(0, colon).trim().toLowerCase()
          const value = text
            .slice(colon + 1)
            .trim()
            .toLowerCase()
          if (name === 'content-length') contentLength = Number(value)
          else if (name === 'transfer-encoding') chunked = value.includes('chunked')
          else if (name === 'connection')
            close = value.includes('close') ? true : value.includes('keep-alive') ? false : close
        }
      }
      line = stop + 2
    }
    this.current = { status, close }
    if (status < 200 && status !== 101) {
      // 100 Continue and other interim responses precede the real one
      this.state = State.Head
      return
    }
    if (!this.expectsBody() || status === 204 || status === 304) return this.complete()
    if (chunked) this.state = State.ChunkSize
    else if (contentLength >= 0) {
      if (!Number.isSafeInteger(contentLength)) {
        this.error = 'bad content-length'
        return
      }
      if (contentLength === 0) return this.complete()
      this.remaining = contentLength
      this.state = State.Body
    } else {
      this.current.close = true
      this.state = State.UntilClose
    }
  }

  private complete(): void {
    this.state = State.Head
    this.onResponse(this.current)
  }
}

function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = from; i + 3 < buf.length; i++) {
    if (buf[i] === CR && buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i
  }
  return -1
}

function indexOfCrlf(buf: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buf.length; i++) if (buf[i] === CR && buf[i + 1] === LF) return i
  return -1
}

function hexDigit(b: number): number {
  if (b >= 48 && b <= 57) return b - 48
  const l = b | 0x20
  if (l >= 97 && l <= 102) return l - 87
  return -1
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = ''
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!)
  return s
}
