// The HTTP/1.1 transport under the LM clients: node:http / node:https on one keep-alive Agent per scheme,
// shared by every client in the process (as fetch's global dispatcher was), so hundreds of attempts in flight
// reuse warm sockets at a fraction of fetch's CPU. It knows nothing of LM errors: http.ts maps them.

import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

// Sockets per origin are not capped: the rate limiter and the caller's concurrency are the caps that mean
// something. An idle socket closes after 4 s (undici's default), or 1 s before the server's Keep-Alive
// timeout hint when that is sooner (Node applies the hint only when the agent has a timeout of its own).
const AGENT_OPTIONS = { keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024, timeout: 4_000, scheduling: 'lifo' } as const;
const agents = { 'http:': new HttpAgent(AGENT_OPTIONS), 'https:': new HttpsAgent(AGENT_OPTIONS) };

type Target = Pick<RequestOptions, 'protocol' | 'hostname' | 'port' | 'path'>;
const targets = new Map<string, Target>();

/** The parsed URL, memoized: a client posts to the same few URLs on every attempt. */
function targetOf(url: string): Target {
  let target = targets.get(url);
  if (target === undefined) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`unsupported protocol ${parsed.protocol} in ${parsed.origin}`);
    target = { protocol: parsed.protocol, hostname: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port, path: parsed.pathname + parsed.search };
    if (targets.size >= 256) targets.clear();
    targets.set(url, target);
  }
  return target;
}

const ignore = (): void => undefined;

/**
 * One POST and its response. `head` settles with the status line and headers; the body is then read once,
 * with text() or chunks(). end(reason) stops the exchange at any point and makes `reason` the error every
 * pending read rejects with; release() frees the socket, dropping it when the body was not read to its end.
 */
export class Exchange {
  readonly head: Promise<IncomingMessage>;
  /** Why end() stopped the exchange (a timeout, an abort): it wins over the socket error that follows. */
  endedBy: Error | undefined;
  private request!: ClientRequest;
  private response: IncomingMessage | undefined;

  constructor(url: string, headers: OutgoingHttpHeaders, body: string) {
    const target = targetOf(url);
    const options: RequestOptions = { ...target, method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent: agents[target.protocol as 'http:' | 'https:'] };
    this.head = new Promise((resolve, reject) => this.send(options, body, true, resolve, reject));
  }

  private send(options: RequestOptions, body: string, mayResend: boolean, resolve: (r: IncomingMessage) => void, reject: (e: Error) => void): void {
    const request = (options.protocol === 'https:' ? httpsRequest : httpRequest)(options, (response) => {
      // Errors after the head are read through text() or chunks(); one nobody reads must not crash the process.
      response.on('error', ignore);
      this.response = response;
      resolve(response);
    });
    this.request = request;
    request.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed while it sat idle: the request never reached the server, so it
      // goes once more on a fresh socket (what Node's docs advise, and what browsers do).
      if (mayResend && this.endedBy === undefined && this.response === undefined && request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        this.send(options, body, false, resolve, reject);
        return;
      }
      reject(this.endedBy ?? error);
    });
    request.end(body);
  }

  /** Stops the exchange: the socket is destroyed and every pending or later read fails with `reason`. */
  end(reason: Error): void {
    if (this.endedBy !== undefined) return;
    this.endedBy = reason;
    this.response?.destroy(reason);
    this.request.destroy(reason);
  }

  /** Lets the socket go back to the pool when the body was read to its end; otherwise destroys it. */
  release(): void {
    if (this.endedBy === undefined && this.response?.complete !== true) this.request.destroy();
  }

  /** The body, decompressed if the server compressed it (it is never asked to). */
  private body(): Readable {
    const response = this.response!;
    const encoding = response.headers['content-encoding']?.trim().toLowerCase();
    const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
    if (decoder === undefined) return response;
    response.once('error', (error) => decoder.destroy(error));
    return response.pipe(decoder);
  }

  /** The whole body as UTF-8 text. */
  text(): Promise<string> {
    const body = this.body();
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      body.on('data', (chunk: Buffer) => chunks.push(chunk));
      body.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
      body.once('error', (error) => reject(this.endedBy ?? error));
      body.once('close', () => reject(this.endedBy ?? new Error('the connection closed before the body ended')));
    });
  }

  /** The body's bytes as they arrive. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of this.body().iterator({ destroyOnReturn: false })) yield chunk as Buffer;
    } catch (error) {
      throw this.endedBy ?? error;
    }
  }
}
