/** Conversation and voice ids: 128 random bits, base64url (22 characters), unguessable. */
import { randomBytes } from 'node:crypto';

/** What a well-formed id looks like; anything else is refused before it reaches a path. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function newId(): string {
  return randomBytes(16).toString('base64url');
}

export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}
