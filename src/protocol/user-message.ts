import type { PathfindingMessage, PacketInput } from './message.js';
import type { Protocol } from './protocol.js';

/** What a Message needs from the socket that received it to answer. */
export interface MessageServer {
  replyTo(msg: Message, packets: PacketInput[]): Promise<void>;
}

/**
 * A received message as handed to the user (py2p's `message`): its payload,
 * the subflag first, and a way to reply to the original sender.
 */
export class Message {
  constructor(
    readonly msg: PathfindingMessage,
    readonly server: MessageServer | null,
    /**
     * True in the authenticated protocol (encryption 'Ed25519'): `sender` is proven, by
     * the origin's signature (a broadcast) or by the connection it came on (a whisper).
     * False in Plaintext and SSL, where the sender is what the sending node wrote.
     */
    readonly verified = false,
  ) {}

  /** Unix seconds. Exact up to 2^53; msg.time holds the bigint. */
  get time(): number {
    return Number(this.msg.time);
  }

  get time58(): string {
    return this.msg.time58;
  }

  get sender(): string {
    return this.msg.sender;
  }

  get protocol(): Protocol {
    return this.msg.protocol;
  }

  /** The payload: the subflag first, then the user's packets. */
  get packets(): Buffer[] {
    return this.msg.payload;
  }

  get id(): string {
    return this.msg.id;
  }

  /** Packet i decoded as UTF-8 (undefined past the end). */
  text(i: number): string | undefined {
    return this.msg.payload[i]?.toString('utf8');
  }

  /** Sends a whisper back to the original sender, each argument a packet. */
  reply(...args: PacketInput[]): Promise<void> {
    if (this.server === null) {
      return Promise.reject(new Error('cannot reply: this message has no server (constructed with server = null)'));
    }
    return this.server.replyTo(this, args);
  }

  toString(): string {
    const [type, ...rest] = this.packets;
    return `message(type=${type?.toString('latin1')}, packets=${rest.length}, sender=${this.sender})`;
  }
}
