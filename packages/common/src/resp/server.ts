// The RESP TCP front end: accepts connections, decodes requests, calls the
// command handler, writes replies in request order, applies backpressure.
//
// Per connection:
//   socket 'data' → RequestDecoder → inbox of argument vectors
//   → handler(conn, args), in order; a command may finish later (Promise)
//   → a queue of reply slots; finished slots at its head are encoded (in the
//     protocol the connection had when its command ran) into the connection's
//     ReplyEncoder
//   → one socket write (writev of the encoded chunks) per event-loop turn.
//
// Commands are dispatched as soon as they are decoded, without waiting for
// earlier ones to finish (pipelining). A handler that needs the commands after
// it to wait (blocking commands, a read that must see the write before it)
// calls `conn.blockUntil(promise)`.

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import pino, { type Logger } from 'pino';
import { DecoderOptions, ProtocolError, RequestDecoder } from './decoder';
import { Protocol, ReplyEncoder } from './encoder';
import { ErrorReply, PushReply, RawPushReply, Reply, ReplyModeChange } from './reply';
import { trace, traceEvent } from '../util/trace';

export type CommandHandler = (conn: Connection, args: Buffer[]) => Reply | Promise<Reply>;

export interface RespServerOptions extends DecoderOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 6379, 0 for any free port. */
  port?: number;
  /** Called for every command, in order per connection. */
  handler: CommandHandler;
  logger?: Logger;
  /** Connections beyond this get "-ERR max number of clients reached"; default 10000 (Redis maxclients). */
  maxClients?: number;
  /**
   * At most this many commands of one connection run at once (handlers whose
   * promises have not settled); the next ones wait and the socket is not read.
   * Default 1024.
   */
  maxPendingCommands?: number;
  /**
   * While this many reply bytes of one connection wait to be sent, its next
   * commands wait and its socket is not read. Default 4 MB.
   */
  maxOutputBuffer?: number;
  /** How long a connection being closed (QUIT, protocol error) waits for its peer before it is destroyed; default 2000 ms. */
  closeLingerMs?: number;
  /**
   * Redis's `timeout`: close a client idle this long (no traffic, nothing in
   * progress, flag 'pubsub' unset). 0, the default, never closes idle clients.
   */
  idleTimeoutMs?: number;
}

/** Counters for INFO stats / INFO clients. */
export interface RespServerStats {
  /** total_connections_received */
  connectionsReceived: number;
  /** rejected_connections (maxclients) */
  rejectedConnections: number;
  /** total_commands_processed */
  commandsProcessed: number;
  /** total_net_input_bytes */
  netInputBytes: number;
  /** total_net_output_bytes */
  netOutputBytes: number;
  /** connections closed for a protocol error */
  protocolErrors: number;
  /** commands whose handler threw or rejected with something other than an ErrorReply */
  handlerErrors: number;
}

interface Slot {
  done: boolean;
  reply: Reply;
  protocol: Protocol;
  /** An out-of-band push (a pub/sub message): CLIENT REPLY neither silences nor counts it. */
  oob?: boolean;
}

const FLAG_LETTERS: Array<[string, string]> = [
  ['multi', 'x'],
  ['pubsub', 'P'],
  ['blocked', 'b'],
  ['dirty_cas', 'd'],
  ['dirty_exec', 'e'],
  ['unblocked', 'u'],
];

function formatAddr(ip: string | undefined, port: number | undefined): string {
  if (ip === undefined) return '?:0';
  if (ip.startsWith('::ffff:') && ip.indexOf('.') >= 0) ip = ip.slice(7);
  return ip.indexOf(':') >= 0 ? `[${ip}]:${port ?? 0}` : `${ip}:${port ?? 0}`;
}

function isThenable(v: unknown): v is PromiseLike<Reply> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * One client connection and the per-client state that commands use. Emits
 * 'close' once when the socket is gone.
 */
export class Connection extends EventEmitter {
  /** CLIENT ID: unique per server, rising from 1. */
  readonly id: number;
  /** CLIENT SETNAME; '' when unset (CLIENT GETNAME answers nil). */
  name = '';
  /** CLIENT SETINFO LIB-NAME / LIB-VER; '' when unset. */
  libName = '';
  libVer = '';
  /** RESP version for replies, set by HELLO. */
  protocol: Protocol = 2;
  /** SELECT */
  db = 0;
  /** READONLY / READWRITE */
  readonly = false;
  /** Free-form flags for CLIENT LIST and the command layer (e.g. 'multi', 'pubsub'). */
  readonly flags = new Set<string>();
  /** ms since the epoch */
  readonly createdAt: number;
  /** ms since the epoch of the last command received (CLIENT LIST idle=) */
  lastInteraction: number;
  private lastCmd: string | null = 'NULL';
  private lastCmdBuf: Buffer | null = null;
  /** "ip:port" of the client, "[v6]:port" for IPv6. */
  readonly remoteAddress: string;
  /** "ip:port" of the server side. */
  readonly localAddress: string;
  commandsProcessed = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  /** ACL user (AUTH); 'default' until there is AUTH. */
  user = 'default';
  /** For CLIENT LIST: commands queued in MULTI, channel, pattern and shard-channel subscriptions (kept by the command layer). */
  multiQueued = 0;
  subscriptions = 0;
  patternSubscriptions = 0;
  shardSubscriptions = 0;

  private readonly decoder: RequestDecoder;
  private readonly encoder = new ReplyEncoder();
  private inbox: Buffer[][] = [];
  private inboxHead = 0;
  private slots: Slot[] = [];
  private slotsHead = 0;
  private blockers = 0;
  private closing = false; // closeAfterReply or protocol error: dispatch nothing more
  /** CLIENT REPLY: 'off' silences command replies, 'skip' the next one; pushes always go out. */
  private replyMode: 'on' | 'off' | 'skip' = 'on';
  private ending = false; // socket.end() called
  private inputEnded = false;
  private protoError: ProtocolError | null = null;
  private flushScheduled = false;
  /** `flush` bound once: scheduling a flush allocates nothing. */
  private readonly flushNow = (): void => this.flush();
  private paused = false;
  private dead = false;

  /** @internal */
  constructor(
    private readonly server: RespServer,
    private readonly socket: net.Socket,
    id: number,
  ) {
    super();
    this.id = id;
    this.createdAt = Date.now();
    this.lastInteraction = this.createdAt;
    this.remoteAddress = formatAddr(socket.remoteAddress, socket.remotePort);
    this.localAddress = formatAddr(socket.localAddress, socket.localPort);
    this.decoder = new RequestDecoder(server.decoderOptions);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => {
      this.pump();
      this.scheduleFlush();
      this.updateReading();
    });
    socket.on('timeout', () => this.onTimeout());
    if (server.idleTimeoutMs > 0) socket.setTimeout(server.idleTimeoutMs);
    socket.on('error', (e) => this.server.log.debug({ err: e, client: this.id }, 'client socket error'));
    socket.on('close', () => this.onClose());
  }

  /** Last command's name, lower case (CLIENT LIST cmd=); the command layer may refine it ("client|list"). */
  get lastCommand(): string {
    if (this.lastCmd === null) {
      this.lastCmd = this.lastCmdBuf!.toString('latin1').toLowerCase();
      this.lastCmdBuf = null;
    }
    return this.lastCmd;
  }

  set lastCommand(name: string) {
    this.lastCmd = name;
    this.lastCmdBuf = null;
  }

  /** True once the socket is closed. */
  get closed(): boolean {
    return this.dead;
  }

  /** Commands decoded and not yet answered (waiting to run, running, or waiting for earlier replies). */
  get pendingCommands(): number {
    return this.inbox.length - this.inboxHead + this.slots.length - this.slotsHead;
  }

  /** True while the server does not read from this client (backpressure). */
  get readPaused(): boolean {
    return this.paused;
  }

  /** Bytes held for an incomplete request (CLIENT LIST qbuf=). */
  get queryBufferBytes(): number {
    return this.decoder.pendingBytes;
  }

  /** Reply bytes encoded but not yet taken by the kernel (CLIENT LIST omem=). */
  get outputBufferBytes(): number {
    return this.encoder.length + this.socket.writableLength;
  }

  /** Answer the current command, then every earlier one, then close (QUIT). Later commands are not run. */
  closeAfterReply(): void {
    this.closing = true;
  }

  /** Close now, dropping pending replies (CLIENT KILL). */
  kill(): void {
    if (this.dead) return;
    this.closing = true;
    this.socket.destroy();
  }

  /**
   * Commands after the current one wait until `p` settles (a blocking command,
   * or a read that must observe an earlier write). Replies stay in order either way.
   */
  blockUntil(p: PromiseLike<unknown>): void {
    this.blockers++;
    const release = (): void => {
      this.blockers--;
      if (this.blockers === 0 && !this.dead) {
        this.pump();
        this.scheduleFlush();
      }
    };
    p.then(release, release);
  }

  /**
   * Sends an out-of-band reply (e.g. a RESP3 push) after the replies of every
   * command already dispatched (commands still waiting to run answer after it).
   */
  push(reply: Reply): void {
    if (this.dead) return;
    this.complete(reply, this.protocol, true);
  }

  /**
   * One CLIENT LIST / CLIENT INFO line in Redis 7's format (without the
   * newline). Flags: 'r' READONLY, 'c' closing after reply, plus the letters
   * of known names in `flags` (multi → x, pubsub → P, blocked → b, dirty_cas
   * → d, dirty_exec → e, unblocked → u); 'N' when none. multi= shows
   * `multiQueued` while the 'multi' flag is set, else -1.
   */
  clientInfo(now: number = Date.now()): string {
    let f = '';
    for (const [name, letter] of FLAG_LETTERS) if (this.flags.has(name)) f += letter;
    if (this.readonly) f += 'r';
    if (this.closing) f += 'c';
    if (f === '') f = 'N';
    const qbuf = this.decoder.pendingBytes;
    const omem = this.outputBufferBytes;
    const fd = (this.socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    return (
      `id=${this.id} addr=${this.remoteAddress} laddr=${this.localAddress} fd=${fd} name=${this.name}` +
      ` age=${Math.floor((now - this.createdAt) / 1000)} idle=${Math.floor((now - this.lastInteraction) / 1000)}` +
      ` flags=${f} db=${this.db} sub=${this.subscriptions} psub=${this.patternSubscriptions} ssub=${this.shardSubscriptions}` +
      ` multi=${this.flags.has('multi') ? this.multiQueued : -1} qbuf=${qbuf} qbuf-free=0 argv-mem=0 multi-mem=0` +
      ` rbs=0 rbp=0 obl=0 oll=${this.slots.length - this.slotsHead} omem=${omem} tot-mem=${qbuf + omem}` +
      ` events=r${omem > 0 ? 'w' : ''} cmd=${this.lastCommand} user=${this.user} redir=-1 resp=${this.protocol}` +
      ` lib-name=${this.libName} lib-ver=${this.libVer}`
    );
  }

  // ---------------------------------------------------------------- input

  private onData(chunk: Buffer): void {
    if (trace.on) traceEvent(`client-data bytes=${chunk.length}`);
    this.netInputBytes += chunk.length;
    this.server.stats.netInputBytes += chunk.length;
    if (this.closing || this.protoError !== null) return; // draining before close
    const cmds = this.decoder.write(chunk);
    for (let i = 0; i < cmds.length; i++) this.inbox.push(cmds[i]);
    const e = this.decoder.error;
    if (e !== null) {
      this.protoError = e;
      this.server.stats.protocolErrors++;
      this.server.log.debug({ client: this.id, addr: this.remoteAddress, error: e.message }, 'protocol error from client');
    }
    this.pump();
    this.scheduleFlush();
  }

  private onTimeout(): void {
    if (this.ending) {
      this.socket.destroy(); // a closing peer that does not close
      return;
    }
    // Redis's `timeout`: only clients with nothing in progress and no subscription.
    if (this.pendingCommands === 0 && this.blockers === 0 && !this.flags.has('pubsub')) {
      this.server.log.debug({ client: this.id }, 'closing idle client');
      this.socket.destroy();
    }
  }

  private onEnd(): void {
    this.inputEnded = true;
    this.scheduleFlush();
    // The client sent its last byte: a command blocked for it (BLPOP) gives up, as in Redis.
    this.emit('end');
  }

  private onClose(): void {
    if (this.dead) return;
    this.dead = true;
    this.inbox = [];
    this.inboxHead = 0;
    this.slots = [];
    this.slotsHead = 0;
    this.server.onConnectionClosed(this);
    try {
      this.emit('close');
    } catch (e) {
      this.server.log.error({ err: e, client: this.id }, "a connection 'close' listener failed");
    }
  }

  /**
   * May the next decoded command run now? Not while a blockUntil() promise
   * holds the connection, while it is closing, while maxPendingCommands
   * commands are running, or while maxOutputBuffer reply bytes wait.
   */
  private canDispatch(): boolean {
    return (
      this.blockers === 0 &&
      !this.closing &&
      !this.dead &&
      this.slots.length - this.slotsHead < this.server.maxPendingCommands &&
      this.encoder.length + this.socket.writableLength < this.server.maxOutputBuffer
    );
  }

  /** Runs decoded commands while nothing holds them back. */
  private pump(): void {
    const server = this.server;
    if (this.inboxHead === this.inbox.length) return this.afterPump();
    const now = Date.now();
    while (this.inboxHead < this.inbox.length && this.canDispatch()) {
      const args = this.inbox[this.inboxHead];
      this.inbox[this.inboxHead++] = undefined as unknown as Buffer[];
      // Computed from args[0] when asked for; a long name is cut (and copied,
      // so as not to retain a big argument).
      const name = args[0];
      this.lastCmd = null;
      this.lastCmdBuf = name.length > 64 ? Buffer.from(name.subarray(0, 64)) : name;
      this.lastInteraction = now;
      this.commandsProcessed++;
      server.stats.commandsProcessed++;
      let r: Reply | Promise<Reply>;
      const handler = server.handler;
      try {
        r = handler(this, args);
      } catch (e) {
        r = server.errorReply(e, args, this);
      }
      if (isThenable(r)) {
        const slot: Slot = { done: false, reply: null, protocol: this.protocol };
        this.slots.push(slot);
        r.then(
          (v) => this.settle(slot, v),
          (e) => this.settle(slot, server.errorReply(e, args, this)),
        );
      } else {
        this.complete(r, this.protocol);
      }
    }
    this.afterPump();
  }

  /** The inbox emptied: its array is dropped; a protocol error is answered once everything before it ran. */
  private afterPump(): void {
    if (this.inboxHead === this.inbox.length && this.inboxHead > 0) {
      this.inbox = [];
      this.inboxHead = 0;
    }
    if (
      this.protoError !== null &&
      !this.closing &&
      this.inboxHead === this.inbox.length &&
      this.blockers === 0 &&
      !this.dead
    ) {
      this.complete(new ErrorReply(this.protoError.reply), this.protocol);
      this.closing = true;
    }
  }

  /** A reply is ready now: encode it if nothing is ahead of it, else queue it. */
  private complete(reply: Reply, protocol: Protocol, oob = false): void {
    if (this.slotsHead === this.slots.length) this.encode(reply, protocol, oob);
    else this.slots.push({ done: true, reply, protocol, oob });
    this.scheduleFlush();
  }

  private settle(slot: Slot, reply: Reply): void {
    if (this.dead) return;
    slot.done = true;
    slot.reply = reply;
    const slots = this.slots;
    while (this.slotsHead < slots.length && slots[this.slotsHead].done) {
      const s = slots[this.slotsHead];
      slots[this.slotsHead++] = undefined as unknown as Slot;
      this.encode(s.reply, s.protocol, s.oob);
    }
    if (this.slotsHead === slots.length) {
      this.slots = [];
      this.slotsHead = 0;
    }
    this.pump();
    this.scheduleFlush();
  }

  private encode(reply: Reply, protocol: Protocol, oob = false): void {
    if (!oob && (this.replyMode !== 'on' || reply instanceof ReplyModeChange) && !this.replyWanted(reply)) return;
    const e = this.encoder.tryEncode(reply, protocol);
    if (e !== undefined) {
      this.server.stats.handlerErrors++;
      this.server.log.error({ err: e, client: this.id, cmd: this.lastCommand }, 'cannot encode reply');
      this.encoder.encode(new ErrorReply(`ERR internal error: ${(e as Error).message ?? e}`), protocol);
    }
  }

  /**
   * CLIENT REPLY, judged in reply order: a mode change takes effect at its
   * own reply (SKIP while OFF stays OFF, as in Redis); a silenced command
   * still sends its pub/sub confirmations (Redis 7 pushes them regardless).
   */
  private replyWanted(reply: Reply): boolean {
    if (reply instanceof ReplyModeChange) {
      if (reply.mode !== 'skip' || this.replyMode !== 'off') this.replyMode = reply.mode;
      return reply.mode === 'on';
    }
    if (this.replyMode === 'skip') this.replyMode = 'on';
    return reply instanceof PushReply || reply instanceof RawPushReply;
  }

  // ---------------------------------------------------------------- output

  private scheduleFlush(): void {
    if (this.flushScheduled || this.dead) return;
    this.flushScheduled = true;
    process.nextTick(this.flushNow);
  }

  private flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (this.dead || socket.destroyed) return;
    if (this.encoder.length > 0 && !this.ending) {
      if (trace.on) traceEvent(`reply-write bytes=${this.encoder.length}`);
      const chunks = this.encoder.take();
      let n = 0;
      if (chunks.length === 1) {
        n = chunks[0].length;
        socket.write(chunks[0]);
      } else {
        socket.cork();
        for (const c of chunks) {
          n += c.length;
          socket.write(c);
        }
        socket.uncork();
      }
      this.netOutputBytes += n;
      this.server.stats.netOutputBytes += n;
    }
    const idle = this.slotsHead === this.slots.length && this.blockers === 0;
    if (!this.ending && idle && (this.closing || (this.inputEnded && this.inboxHead === this.inbox.length))) {
      this.ending = true;
      if (this.protoError !== null) {
        // After a protocol error Redis reads nothing more: the stream is out of
        // sync. Close once the error is out; a peer still sending then gets a
        // reset (its writes fail) and reads the error line first.
        socket.end(() => socket.destroy());
        socket.setTimeout(this.server.closeLingerMs); // a peer that reads nothing cannot hold it open
        return;
      }
      socket.end();
      // Keep reading (and discarding) so that closing does not reset the
      // connection over unread input; give up on a peer that never closes.
      if (this.paused) {
        this.paused = false;
        socket.resume();
      }
      socket.setTimeout(this.server.closeLingerMs);
      return;
    }
    // Output went out: commands held back by maxOutputBuffer may run now.
    if (this.inboxHead < this.inbox.length && this.canDispatch()) {
      this.pump();
      this.scheduleFlush();
    }
    this.updateReading();
  }

  private updateReading(): void {
    if (this.dead || this.ending) return;
    // Read on only when every decoded command is running and there is room
    // for more: memory stays bounded by one chunk's commands, maxPendingCommands
    // running ones and maxOutputBuffer bytes (plus one reply).
    const stop =
      this.inboxHead < this.inbox.length ||
      this.slots.length - this.slotsHead >= this.server.maxPendingCommands ||
      this.encoder.length + this.socket.writableLength >= this.server.maxOutputBuffer ||
      this.protoError !== null;
    if (stop && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!stop && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }
}

export class RespServer extends EventEmitter {
  readonly handler: CommandHandler;
  readonly log: Logger;
  readonly decoderOptions: DecoderOptions;
  readonly maxClients: number;
  readonly maxPendingCommands: number;
  readonly maxOutputBuffer: number;
  readonly closeLingerMs: number;
  readonly idleTimeoutMs: number;
  readonly stats: RespServerStats = {
    connectionsReceived: 0,
    rejectedConnections: 0,
    commandsProcessed: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
    protocolErrors: 0,
    handlerErrors: 0,
  };
  private readonly conns = new Map<number, Connection>();
  private readonly server: net.Server;
  private nextId = 1;
  private readonly host: string;
  private readonly port: number;

  constructor(opts: RespServerOptions) {
    super();
    this.handler = opts.handler;
    this.log = opts.logger ?? pino({ level: 'silent' });
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 6379;
    this.decoderOptions = {
      maxBulkLen: opts.maxBulkLen,
      maxMultibulkLen: opts.maxMultibulkLen,
      maxInlineLen: opts.maxInlineLen,
      maxQueryBufferLen: opts.maxQueryBufferLen,
    };
    this.maxClients = opts.maxClients ?? 10000;
    this.maxPendingCommands = opts.maxPendingCommands ?? 1024;
    this.maxOutputBuffer = opts.maxOutputBuffer ?? 4 * 1024 * 1024;
    this.closeLingerMs = opts.closeLingerMs ?? 2000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 0;
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.onSocket(s));
    this.server.on('error', (e) => this.log.error({ err: e }, 'RESP server error'));
  }

  /** Live connections by id (CLIENT LIST, CLIENT KILL ID, INFO clients). */
  get connections(): ReadonlyMap<number, Connection> {
    return this.conns;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        const a = this.address();
        this.log.info({ host: a.host, port: a.port }, 'RESP server listening');
        resolve();
      });
    });
  }

  /** The bound address (after listen()). */
  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('RESP server is not listening');
    return { host: a.address, port: a.port };
  }

  /** Stops accepting, closes every connection, resolves when all are gone. */
  async close(): Promise<void> {
    const closed: Promise<void>[] = [];
    if (this.server.listening) closed.push(new Promise((resolve) => this.server.close(() => resolve())));
    for (const c of this.conns.values()) {
      if (!c.closed) closed.push(new Promise((resolve) => c.once('close', () => resolve())));
      c.kill();
    }
    await Promise.all(closed);
  }

  /** @internal Turns a handler failure into a reply. */
  errorReply(e: unknown, args: Buffer[], conn: Connection): ErrorReply {
    if (e instanceof ErrorReply) return e;
    this.stats.handlerErrors++;
    this.log.error({ err: e, client: conn.id, cmd: args[0]?.toString('latin1') }, 'command handler failed');
    const msg = e instanceof Error ? e.message : String(e);
    return new ErrorReply(`ERR ${msg}`);
  }

  /** @internal */
  onConnectionClosed(c: Connection): void {
    this.conns.delete(c.id);
    this.log.debug({ client: c.id, addr: c.remoteAddress }, 'client closed');
  }

  private onSocket(socket: net.Socket): void {
    this.stats.connectionsReceived++;
    socket.on('error', () => {}); // errors are logged by the Connection; this catches early ones
    if (this.conns.size >= this.maxClients) {
      this.stats.rejectedConnections++;
      socket.end('-ERR max number of clients reached\r\n');
      socket.setTimeout(this.closeLingerMs, () => socket.destroy());
      return;
    }
    const c = new Connection(this, socket, this.nextId++);
    this.conns.set(c.id, c);
    this.log.debug({ client: c.id, addr: c.remoteAddress }, 'client connected');
    try {
      this.emit('connection', c);
    } catch (e) {
      this.log.error({ err: e, client: c.id }, "a 'connection' listener failed");
    }
  }
}
