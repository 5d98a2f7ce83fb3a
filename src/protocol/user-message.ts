import type { PathfindingMessage, PacketInput } from './message.js';
import type { Protocol } from './protocol.js';

/** What a Message needs from the socket that received it to answer. */
export interface MessageServer {
  /** Whispers `packets` to the original sender of `msg` (MeshSocket.replyTo). */
  replyTo(msg: Message, packets: PacketInput[]): Promise<void>;
}

/**
 * A received message as handed to the user (py2p's `message`): its payload,
 * the subflag first, and a way to reply to the original sender.
 */
export class Message {
  constructor(
    /** The message as it came off the wire (py2p's pathfinding_message): flags, time, raw packets, protocol trailer included. */
    readonly msg: PathfindingMessage,
    /** The socket that received it, which reply() goes through; null for a message built by hand. */
    readonly server: MessageServer | null,
    /**
     * True in the authenticated protocol (encryption 'Ed25519'): `sender` is proven, by
     * the origin's signature (a broadcast) or by the connection it came on (a whisper).
     * False in Plaintext and SSL, where the sender is what the sending node wrote.
     */
    readonly verified = false,
    /**
     * Packets at the end of the payload that belong to the protocol, not to the user
     * (the authenticated protocol's signature trailer): `packets` leaves them out;
     * `msg` is the message as it came, trailer included.
     */
    private readonly hiddenPackets = 0,
  ) {}

  #packets: Buffer[] | undefined;

  /** Unix seconds. Exact up to 2^53; msg.time holds the bigint. */
  get time(): number {
    return Number(this.msg.time);
  }

  /** The time as it was on the wire: base_58 text. */
  get time58(): string {
    return this.msg.time58;
  }

  /** The base_58 id of the node that sent the message first (in Plaintext and SSL, what that node wrote; proven when `verified`). */
  get sender(): string {
    return this.msg.sender;
  }

  /** The protocol (subnet and encryption) of the connection it came on. */
  get protocol(): Protocol {
    return this.msg.protocol;
  }

  /** The payload: the subflag first, then the user's packets. */
  get packets(): Buffer[] {
    if (this.hiddenPackets === 0) return this.msg.payload;
    return (this.#packets ??= this.msg.payload.slice(0, Math.max(0, this.msg.payload.length - this.hiddenPackets)));
  }

  /** The message's id: base_58 of SHA-384 of its payload and time, as py2p computes it (what de-duplication keys on). */
  get id(): string {
    return this.msg.id;
  }

  /** Packet i decoded as UTF-8 (undefined past the end). */
  text(i: number): string | undefined {
    return this.packets[i]?.toString('utf8');
  }

  /** Sends a whisper back to the original sender, each argument a packet. */
  reply(...args: PacketInput[]): Promise<void> {
    if (this.server === null) {
      return Promise.reject(new Error('cannot reply: this message has no server (constructed with server = null)'));
    }
    return this.server.replyTo(this, args);
  }

  /** A one-line summary for logs: `message(type=…, packets=N, sender=…)`. */
  toString(): string {
    const [type, ...rest] = this.packets;
    return `message(type=${type?.toString('latin1')}, packets=${rest.length}, sender=${this.sender})`;
  }
}
