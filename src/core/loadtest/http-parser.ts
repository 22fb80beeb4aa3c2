/**
 * An incremental HTTP/1.1 response parser for the load generator: status, then the body framed by
 * Content-Length, chunked transfer encoding, or the end of the connection. It reads only what it
 * needs (status and framing headers) and keeps no body: bytes are counted, not stored. Only a
 * response its `keeps` predicate asks for (a flow step that captures or checks, flow.ts) has its
 * headers and body kept, so plain load pays one branch per response for the feature.
 */

const CR = 13
const LF = 10

export interface ParsedResponse {
  status: number
  /** the server said `connection: close`: no more responses on this connection */
  close: boolean
  /** headers and body, only when the parser was asked to keep them for this response */
  kept?: KeptAnswer
}

/** A response's headers (names in lowercase, repeated ones joined with ", ") and body bytes. */
export interface KeptAnswer {
  headers: Record<string, string>
  body: Uint8Array
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
  /** the body's pieces while a kept response is read; undefined when it is not kept */
  private pieces: Uint8Array[] | undefined
  /** why parsing stopped; the connection is useless after it */
  error: string | undefined

  constructor(
    private readonly onResponse: (r: ParsedResponse) => void,
    /** false for a response that carries no body whatever its headers say (an answer to HEAD) */
    private readonly expectsBody: () => boolean = () => true,
    /** true for a response whose headers and body must be kept (ParsedResponse.kept) */
    private readonly keeps?: () => boolean,
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
          if (this.pieces) this.pieces.push(buf.slice(i, i + take))
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
          if (this.pieces) this.pieces.push(buf.slice(i, i + take))
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
          if (this.pieces) this.pieces.push(buf.slice(i))
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
      // only content-length, transfer-encoding and connection matter; compared as bytes, no strings
      if (c === 0x63) {
        let v = matchName(buf, line, stop, CONTENT_LENGTH)
        if (v >= 0) {
          contentLength = 0
          for (; v < stop; v++) {
            const d = buf[v]!
            if (d >= 48 && d <= 57) contentLength = contentLength * 10 + d - 48
            else if (d !== 32 && d !== 9) {
              contentLength = NaN
              break
            }
          }
        } else if ((v = matchName(buf, line, stop, CONNECTION)) >= 0) {
          if (includesLower(buf, v, stop, CLOSE)) close = true
          else if (includesLower(buf, v, stop, KEEP_ALIVE)) close = false
        }
      } else if (c === 0x74) {
        const v = matchName(buf, line, stop, TRANSFER_ENCODING)
        if (v >= 0) chunked = includesLower(buf, v, stop, CHUNKED)
      }
      line = stop + 2
    }
    this.current = { status, close }
    this.pieces = undefined
    if (this.keeps !== undefined && status >= 200 && this.keeps()) {
      this.current.kept = { headers: readHeaders(buf, start, end), body: new Uint8Array(0) }
      this.pieces = []
    }
    if (status < 200 && status !== 101) {
      // 100 Continue and other interim responses precede the real one
      this.state = State.Head
      return
    }
    if (!this.expectsBody() || status === 204 || status === 304) return this.complete()
    if (chunked) this.state = State.ChunkSize
    else if (contentLength !== -1) {
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
    if (this.pieces && this.current.kept) {
      this.current.kept.body = this.pieces.length === 1 ? this.pieces[0]! : concat(this.pieces)
      this.pieces = undefined
    }
    this.onResponse(this.current)
  }
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** The header lines of the head in [start, end) as a record (names lowercased, bytes as latin1). */
function readHeaders(buf: Uint8Array, start: number, end: number): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>
  let text = ''
  for (let i = start; i < end; i++) text += String.fromCharCode(buf[i]!)
  for (const line of text.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  return headers
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

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
const CONTENT_LENGTH = bytes('content-length')
const CONNECTION = bytes('connection')
const TRANSFER_ENCODING = bytes('transfer-encoding')
const CLOSE = bytes('close')
const KEEP_ALIVE = bytes('keep-alive')
const CHUNKED = bytes('chunked')

/** When the header line at `start` has this (lowercase) name, the index just past its colon; else -1. */
function matchName(buf: Uint8Array, start: number, stop: number, name: Uint8Array): number {
  if (stop - start <= name.length) return -1
  for (let i = 0; i < name.length; i++) if ((buf[start + i]! | 0x20) !== name[i]) return -1
  let i = start + name.length
  while (i < stop && (buf[i] === 32 || buf[i] === 9)) i++
  return buf[i] === 58 ? i + 1 : -1
}

/** Whether bytes [start, stop) hold `word` (lowercase), ignoring case. */
function includesLower(buf: Uint8Array, start: number, stop: number, word: Uint8Array): boolean {
  outer: for (let i = start; i + word.length <= stop; i++) {
    for (let j = 0; j < word.length; j++) if ((buf[i + j]! | 0x20) !== word[j]) continue outer
    return true
  }
  return false
}
