// Phone numbers as Signal and signal-cli take them: one E.164 rule, one log tag, one masker for free text
// (numbers and message text).
import { createHash } from 'node:crypto';

/**
 * E.164 (ITU-T): `+`, a country code that does not start with 0, at most 15 digits in all. The lower
 * bound is 7 digits: the shortest numbers in service (Niue, `+683 xxxx`) have 7, and signal-cli refuses a
 * shorter `-a` number as "Invalid account (phone number)".
 */
const E164_DIGITS = '[1-9][0-9]{6,14}';
const E164 = new RegExp(`^\\+${E164_DIGITS}$`);
/** A number anywhere in a text. Greedy: a longer run of digits is masked in its first 15 digits. */
const E164_IN_TEXT = new RegExp(`\\+${E164_DIGITS}`, 'g');

/** Whether `s` is a phone number in E.164 form (no spaces or separators). */
export function isE164(s: string): boolean {
  return E164.test(s);
}

/**
 * A stable, non-reversible tag for a phone number in logs: its last two digits and the first 8 hex digits
 * of its SHA-256, `…23#1a2b3c4d`. The same number always gets the same tag, so log lines correlate.
 */
export function numberTag(number: string): string {
  const hash = createHash('sha256').update(number).digest('hex').slice(0, 8);
  return `…${number.slice(-2)}#${hash}`;
}

/** JSON members whose string value is message text, as they appear in excerpts of signal-cli's lines. */
const TEXT_IN_JSON = /"(message|text|body|quote_message|quoteText|caption)"\s*:\s*"(?:[^"\\]|\\.)*(?:"|$)/g;

/**
 * The one masker for free text that may reach a log line or a dump (signal-cli's stderr, error messages,
 * excerpts of JSON lines): every phone number becomes its tag and the text of `"message":"…"` members (and
 * the other message-text members) in quoted JSON becomes `[redacted]`. JSON text stays valid JSON.
 */
export function maskText(text: string): string {
  const masked = text.includes('"') ? text.replace(TEXT_IN_JSON, '"$1":"[redacted]"') : text;
  return masked.replace(E164_IN_TEXT, numberTag);
}
