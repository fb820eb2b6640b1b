// One framed TCP connection, used by both sides: it splits the incoming byte
// stream into validated envelopes and batches outgoing frames, writing all the
// frames queued during one event-loop turn in one corked burst.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameDecoder, decodeEnvelope, envelopeProblem, type EncodedFrame } from './frame';
import type { Envelope } from './frame';
import type { TransportStats } from './stats';
import { trace, traceEvent } from '../util/trace';

// Queued frames up to this many bytes in total are concatenated into one
// buffer before writing; above it they are written corked, in runs.
const CONCAT_BYTES = 64 * 1024;
const SMALL_PART_BYTES = 16 * 1024;

export interface FramedConnectionOptions {
  maxFrameBytes: number;
  logger: Logger;
  stats: TransportStats;
  /** a valid envelope arrived; return false if the connection was closed while handling it */
  onEnvelope: (env: Envelope) => boolean;
  /** the socket closed, for whatever reason; called once */
  onClose: () => void;
  /** the socket's write buffer drained */
  onDrain?: () => void;
}

let nextConnectionId = 1;

export class FramedConnection {
  readonly id = nextConnectionId++;
  private readonly decoder: FrameDecoder;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private queuedFrames = 0;
  private flushScheduled: NodeJS.Immediate | null = null;
  private writable: boolean;
  private closed = false;

  constructor(
    readonly socket: Socket,
    readonly remote: string,
    private readonly opts: FramedConnectionOptions,
    /** false while the socket is still connecting: frames queue until markConnected() */
    connected: boolean,
  ) {
    this.writable = connected;
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.opts.onDrain?.());
    // Errors always end in 'close', which does the cleanup; a listener must
    // exist so that an error never becomes an uncaught exception.
    socket.on('error', (err) => {
      if (!this.closed) this.opts.logger.debug({ remote: this.remote, err: err.message }, 'peer connection error');
    });
    socket.on('close', () => this.onSocketClose());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes waiting to be written: our queue plus the socket's own buffer. */
  get outboundBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Frames queued and not yet written. */
  get queuedFrameCount(): number {
    return this.queuedFrames;
  }

  markConnected(): void {
    this.writable = true;
    if (this.queue.length > 0) this.scheduleFlush();
  }

  /** Queues a frame; it is written at the end of this event-loop turn. */
  enqueue(frame: EncodedFrame): void {
    for (const p of frame.parts) this.queue.push(p);
    this.queuedBytes += frame.bytes;
    this.queuedFrames++;
    if (this.writable) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled === null && !this.closed) this.flushScheduled = setImmediate(() => this.flush());
  }

  /** Writes every queued frame now. */
  flush(): void {
    if (this.flushScheduled !== null) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = null;
    }
    if (this.closed || !this.writable || this.queue.length === 0) return;
    if (trace.on) traceEvent(`peer-write frames=${this.queuedFrames}`);
    const queue = this.queue;
    const bytes = this.queuedBytes;
    const frames = this.queuedFrames;
    this.queue = [];
    this.queuedBytes = 0;
    this.queuedFrames = 0;
    if (queue.length === 1) {
      this.socket.write(queue[0]);
    } else if (bytes <= CONCAT_BYTES) {
      this.socket.write(Buffer.concat(queue, bytes));
    } else {
      // Small parts are concatenated in runs of up to CONCAT_BYTES (one
      // socket write per run, not per frame); large parts go as they are.
      this.socket.cork();
      let run: Uint8Array[] = [];
      let runBytes = 0;
      const endRun = () => {
        if (run.length === 1) this.socket.write(run[0]);
        else if (run.length > 1) this.socket.write(Buffer.concat(run, runBytes));
        run = [];
        runBytes = 0;
      };
      for (const p of queue) {
        if (p.length >= SMALL_PART_BYTES) {
          endRun();
          this.socket.write(p);
          continue;
        }
        run.push(p);
        runBytes += p.length;
        if (runBytes >= CONCAT_BYTES) endRun();
      }
      endRun();
      this.socket.uncork();
    }
    this.opts.stats.framesOut += frames;
    this.opts.stats.bytesOut += bytes;
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.opts.stats.bytesIn += chunk.length;
    const problem = this.decoder.push(chunk, (frame) => this.onFrame(frame));
    if (problem !== null && !this.closed) this.refuse(problem);
  }

  private onFrame(frame: Buffer): boolean {
    if (this.closed) return false;
    let env: Envelope;
    try {
      env = decodeEnvelope(frame);
    } catch (e) {
      this.refuse(`undecodable envelope (${frame.length} bytes): ${(e as Error).message}`);
      return false;
    }
    const problem = envelopeProblem(env);
    if (problem !== null) {
      this.refuse(problem);
      return false;
    }
    this.opts.stats.framesIn++;
    return this.opts.onEnvelope(env) && !this.closed;
  }

  /** Refuses the peer's input: logs it, counts it, closes the connection. */
  refuse(reason: string): void {
    if (this.closed) return;
    this.opts.stats.refused++;
    this.opts.logger.warn({ remote: this.remote, reason }, 'refused a peer frame; closing the connection');
    this.destroy();
  }

  /** Pauses or resumes reading (backpressure). */
  setReading(on: boolean): void {
    if (this.closed) return;
    if (on) this.socket.resume();
    else this.socket.pause();
  }

  /** Closes the connection now; queued frames are dropped (counted). */
  destroy(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.cleanup();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    if (this.decoder.pendingBytes > 0) {
      this.opts.stats.refused++;
      this.opts.logger.warn({ remote: this.remote, pendingBytes: this.decoder.pendingBytes }, 'peer connection closed in the middle of a frame');
    }
    this.cleanup();
  }

  private cleanup(): void {
    this.closed = true;
    this.writable = false;
    if (this.flushScheduled !== null) {
      clearImmediate(this.flushScheduled);
      this.flushScheduled = null;
    }
    this.opts.stats.dropped += this.queuedFrames;
    this.queue = [];
    this.queuedBytes = 0;
    this.queuedFrames = 0;
    this.decoder.reset();
    this.opts.onClose();
  }
}
